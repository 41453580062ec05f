import HybsterCore
import Testing

/// Batching (§6.2): propose immediately while fewer than M instances are
/// undelivered, otherwise accumulate; full batches go at once; a timer flushes.
@Suite("Batching")
struct BatchingTests {
  static let credentials = Keys.credentials(client: 9, replicas: 3)

  static func request(_ sequence: UInt64) -> Request {
    credentials.request(lane: 0, sequence: sequence, operation: [])
  }

  @Test("B = 3, M = 1: immediate, accumulate, full batch at once, timer flush")
  func batching() {
    var leader = Keys.pillar(testConfiguration(batch: 3, inFlight: 1), replica: 0)
    // Nothing in flight: proposed at once, alone.
    var actions = leader.handle(.request(Self.request(1)))
    #expect(actions.prepares.map { $0.batch.requests.count } == [1])
    #expect(actions.armCount == 0)
    // One instance undelivered = M: accumulate and arm the timer, once.
    actions = leader.handle(.request(Self.request(2)))
    #expect(actions.prepares.isEmpty)
    #expect(actions.armCount == 1)
    actions = leader.handle(.request(Self.request(3)))
    #expect(actions.prepares.isEmpty)
    #expect(actions.armCount == 0)
    #expect(leader.pendingCount == 2)
    // The third pending request fills a batch: proposed at once despite M.
    actions = leader.handle(.request(Self.request(4)))
    #expect(actions.prepares.map { $0.batch.requests.map(\.sequence) } == [[2, 3, 4]])
    #expect(leader.pendingCount == 0)
    actions = leader.handle(.request(Self.request(5)))
    #expect(actions.prepares.isEmpty)
    #expect(actions.armCount == 0)  // the timer is still armed
    // The timer flushes the partial batch.
    actions = leader.handle(.batchTimeout)
    #expect(actions.prepares.map { $0.batch.requests.map(\.sequence) } == [[5]])
    #expect(actions.prepares.map(\.order) == [3])
    #expect(leader.pendingCount == 0)
    // The next accumulation arms the timer again.
    actions = leader.handle(.request(Self.request(6)))
    #expect(actions.armCount == 1)
  }

  @Test("a delivery frees an in-flight slot and proposes the accumulated batch")
  func deliveryProposes() {
    var leader = Keys.pillar(testConfiguration(batch: 4, inFlight: 1), replica: 0)
    let p1 = leader.handle(.request(Self.request(1))).prepares[0]
    _ = leader.handle(.request(Self.request(2)))
    _ = leader.handle(.request(Self.request(3)))
    let commit = Forge.commit(order: 1, batchDigest: p1.batch.digest, replica: 1)
    let actions = leader.handle(.message(.commit(commit), from: 1))
    #expect(actions.deliveries.map(\.order) == [1])
    #expect(actions.prepares.map { $0.batch.requests.map(\.sequence) } == [[2, 3]])
  }

  @Test("M = 2: two instances go out unbatched before requests accumulate")
  func inFlightLimit() {
    var leader = Keys.pillar(testConfiguration(batch: 8, inFlight: 2), replica: 0)
    let sizes = (1...5).flatMap { leader.handle(.request(Self.request(UInt64($0)))).prepares }
      .map { $0.batch.requests.count }
    #expect(sizes == [1, 1])
    #expect(leader.pendingCount == 3)
  }

  @Test("a follower refuses batches larger than B")
  func oversizedBatch() {
    var follower = Keys.pillar(testConfiguration(batch: 2), replica: 1)
    let batch = Batch(requests: (1...3).map { Self.request(UInt64($0)) })
    let actions = follower.handle(
      .message(.prepare(Forge.prepare(order: 1, batch: batch)), from: 0))
    #expect(actions.rejections == [.batchTooLarge(count: 3)])
    #expect(actions.commits.isEmpty)
  }

  /// Issue 11, item 5: batches were limited by count only, so 64 requests of 1 MiB
  /// made a 64 MiB PREPARE every receiver refused as over the frame limit, and every
  /// new leader batched them again. A batch now also stays within `maxBatchBytes`.
  @Test("a batch stays within its byte budget; a PREPARE over it is refused")
  func byteBudget() {
    let big = [UInt8](repeating: 7, count: 1000)
    let perRequest = Request.byteCount(operation: big.count, replicas: 3)
    var configuration = testConfiguration(batch: 8, inFlight: 1)
    configuration.maxOperationSize = 1000
    configuration.maxBatchBytes = 2 * perRequest + 10
    try! configuration.validate()
    var leader = Keys.pillar(configuration, replica: 0)
    func request(_ sequence: UInt64) -> Request {
      Self.credentials.request(lane: 0, sequence: sequence, operation: big)
    }
    _ = leader.handle(.request(request(1)))  // alone: nothing in flight
    _ = leader.handle(.request(request(2)))
    _ = leader.handle(.request(request(3)))
    // A third pending request would pass the budget: two of them make a full batch,
    // proposed at once.
    let actions = leader.handle(.request(request(4)))
    #expect(actions.prepares.map { $0.batch.requests.map(\.sequence) } == [[2, 3]])
    #expect(leader.pendingCount == 1)
    let proposed = actions.prepares[0]
    #expect(proposed.batch.requests.reduce(0) { $0 + $1.byteCount } <= configuration.maxBatchBytes)
    // A follower with a smaller budget refuses that PREPARE.
    var tighter = configuration
    tighter.maxBatchBytes = perRequest
    var follower = Keys.pillar(tighter, replica: 1)
    let prepare = Forge.prepare(order: 1, batch: proposed.batch)
    #expect(
      follower.handle(.message(.prepare(prepare), from: 0)).rejections == [.batchTooLarge(count: 2)]
    )
    // Configuration: the budget must hold one request of the largest operation.
    var invalid = configuration
    invalid.maxBatchBytes = perRequest - 1
    #expect(throws: ConfigurationError.invalidBatchBytes(perRequest - 1, maxOperationSize: 1000)) {
      try invalid.validate()
    }
  }

  /// Issue 11, byte budgets: a VIEW-CHANGE carries a pillar's window, a NEW-VIEW a
  /// few of them, so a window of full 4 MiB batches made view-change messages no
  /// peer would accept. One view's batches in a checkpoint interval now stay within
  /// the interval's share of `maxWindowBytes`.
  @Test("one view's batches stay within each checkpoint interval's window byte budget")
  func windowByteBudget() {
    let big = [UInt8](repeating: 7, count: 1000)
    func request(_ sequence: UInt64) -> Request {
      Self.credentials.request(lane: 0, sequence: sequence, operation: big)
    }
    let perRequest = request(1).byteCount  // a signed request carries no MACs
    var configuration = testConfiguration(k: 4, w: 8, batch: 8, inFlight: 8)
    configuration.maxOperationSize = 1000
    configuration.maxWindowBytes = 2 * 3 * perRequest  // two intervals of three requests
    try! configuration.validate()
    #expect(configuration.intervalByteBudget == 3 * perRequest)
    var leader = Keys.pillar(configuration, replica: 0)
    var prepares: [Prepare] = []
    for sequence: UInt64 in 1...4 {
      prepares += leader.handle(.request(request(sequence))).prepares
    }
    // Orders 1-3 spend the first interval's budget; order 4 ends it empty, and the
    // fourth request opens the next interval.
    #expect(prepares.map(\.order) == [1, 2, 3, 4, 5])
    #expect(prepares.map { $0.batch.requests.map(\.sequence) } == [[1], [2], [3], [], [4]])
    // A faulty leader's PREPARE beyond the budget gets no COMMIT from a follower.
    var follower = Keys.pillar(configuration, replica: 1)
    for order: OrderNumber in 1...3 {
      let prepare = Forge.prepare(order: order, batch: Batch(requests: [request(order)]))
      #expect(follower.handle(.message(.prepare(prepare), from: 0)).commits.map(\.order) == [order])
    }
    let beyond = Forge.prepare(order: 4, batch: Batch(requests: [request(4)]))
    let actions = follower.handle(.message(.prepare(beyond), from: 0))
    #expect(actions.rejections == [.overByteBudget(order: 4, bytes: perRequest)])
    #expect(actions.commits.isEmpty)
    // Configuration: each interval's share must hold one request of the largest
    // operation, and peers accept a NEW-VIEW of windows at the budget.
    var invalid = configuration
    let largest = Request.byteCount(operation: 1000, replicas: 3)
    invalid.maxWindowBytes = 2 * largest - 1
    #expect(
      throws: ConfigurationError.invalidWindowBytes(
        2 * largest - 1, intervals: 2, maxOperationSize: 1000)
    ) { try invalid.validate() }
    let defaults = ProtocolConfiguration(replicaCount: 3)
    #expect(defaults.maxPeerFrameBytes >= 7 * 2 * defaults.maxWindowBytes)
    #expect(defaults.maxPeerFrameBytes < 256 << 20)
  }
}
