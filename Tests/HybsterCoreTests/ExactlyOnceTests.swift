import HybsterCore
import HybsterServices
import Testing

/// Exactly-once execution and authenticated replies (§5.2.1 REPLY, §5.2.2 vector
/// of return values).
@Suite("Exactly-once execution and replies")
struct ExactlyOnceTests {
  static let credentials = Keys.credentials(client: 11, replicas: 3)

  static func put(_ sequence: UInt64, lane: UInt32 = 0) -> Request {
    credentials.request(
      lane: lane, sequence: sequence,
      operation: KeyValueOperation.put(key: [UInt8(lane)], value: [UInt8(sequence)]).encode())
  }

  @Test("a retransmitted request is answered from the reply cache and not executed again")
  func retransmission() throws {
    let cluster = Cluster(testConfiguration()) { MicrobenchmarkService(replySize: 3) }
    let request = Self.put(1)
    cluster.input(.request(request), at: 0)
    cluster.run()
    #expect(cluster.executions.map(\.service.operationsExecuted) == [1, 1, 1])
    for r in 0..<3 {
      let (reply, stale) = cluster.executions[r].cachedReply(for: request, view: 0)
      #expect(stale)
      let cached = try #require(reply)
      #expect(Self.credentials.verify(cached))
      #expect(cached.result == cluster.replies[r].last?.result)
      #expect(cached.sequence == 1)
    }
    // Were the shell to order it again anyway, the execution stage skips it.
    cluster.input(.request(request), at: 0)
    cluster.run()
    #expect(cluster.proposals().count == 2)
    #expect(cluster.executions.map(\.lastExecuted) == [2, 2, 2])
    #expect(cluster.executions.map(\.service.operationsExecuted) == [1, 1, 1])
    #expect(cluster.replies.map(\.count) == [1, 1, 1])
    // A new request is not in the cache.
    let next = cluster.executions[0].cachedReply(for: Self.put(2), view: 0)
    #expect(next.reply == nil && !next.stale)
  }

  @Test("a request received directly and relayed by a follower is proposed once")
  func relayedRequest() {
    let cluster = Cluster(testConfiguration()) { MicrobenchmarkService() }
    let request = Self.put(1)
    // The client multicasts: every replica receives it, followers forward.
    for r: ReplicaID in [1, 2, 0] { cluster.input(.request(request), at: r) }
    cluster.run()
    #expect(cluster.proposals().count == 1)
    #expect(cluster.executions.map(\.service.operationsExecuted) == [1, 1, 1])
  }

  @Test("the same request twice in one batch, or in two instances, executes once")
  func proposedTwice() {
    var stage = ExecutionStage(
      service: MicrobenchmarkService(), replica: 0, checkpointInterval: 100,
      keyring: Keys.keyring(0))
    var replies: [Reply] = []
    let request = Self.put(1)
    _ = stage.execute(
      order: 1, view: 0, batch: Batch(requests: [request, request]), replies: &replies)
    _ = stage.execute(order: 2, view: 0, batch: Batch(requests: [request]), replies: &replies)
    #expect(stage.service.operationsExecuted == 1)
    #expect(replies.count == 1)
    #expect(stage.lastExecuted == 2)
  }

  @Test("stale sequence numbers are skipped and never answered")
  func staleSequence() {
    var stage = ExecutionStage(
      service: KeyValueStore(), replica: 1, checkpointInterval: 100, keyring: Keys.keyring(1))
    var replies: [Reply] = []
    _ = stage.execute(order: 1, view: 0, batch: Batch(requests: [Self.put(5)]), replies: &replies)
    _ = stage.execute(order: 2, view: 0, batch: Batch(requests: [Self.put(3)]), replies: &replies)
    #expect(replies.map(\.sequence) == [5])
    #expect(stage.service[[0]] == [5])
    let cached = stage.cachedReply(for: Self.put(3), view: 0)
    #expect(cached.reply == nil && cached.stale)
    // Another lane is independent.
    _ = stage.execute(
      order: 3, view: 0, batch: Batch(requests: [Self.put(1, lane: 1)]), replies: &replies)
    #expect(replies.map(\.sequence) == [5, 1])
  }

  @Test("replies carry valid tags and f+1 replicas give matching results")
  func authenticatedReplies() throws {
    let cluster = Cluster(testConfiguration(n: 5)) { KeyValueStore() }
    let client = Keys.credentials(client: 11, replicas: 5)
    let operations: [KeyValueOperation] = [
      .put(key: [1], value: [10]), .get(key: [1]),
      .compareAndSwap(key: [1], expected: [9], new: [11]), .delete(key: [1]), .get(key: [1]),
    ]
    for (i, op) in operations.enumerated() {
      cluster.input(
        .request(client.request(lane: 0, sequence: UInt64(i + 1), operation: op.encode())), at: 0)
      cluster.run()
    }
    let expected: [KeyValueResult] = [
      .ok, .value([10]), .casFailed(current: [10]), .ok, .value(nil),
    ]
    for (i, result) in expected.enumerated() {
      let replies = cluster.replies.flatMap { $0 }.filter { $0.sequence == UInt64(i + 1) }
      #expect(Set(replies.map(\.replica)).count == 5)
      for reply in replies {
        #expect(client.verify(reply))
        #expect(try KeyValueResult.decode(reply.result) == result)
      }
      let matching = replies.filter { $0.result == result.encode() }
      #expect(matching.count >= cluster.configuration.quorum)
    }
    // A tampered reply, or one claiming another replica, fails verification.
    var tampered = cluster.replies[0][0]
    tampered.result = KeyValueResult.notFound.encode()
    #expect(!client.verify(tampered))
    var impostor = cluster.replies[0][0]
    impostor.replica = 1
    #expect(!client.verify(impostor))
    #expect(!Keys.credentials(client: 12, replicas: 5).verify(cluster.replies[0][0]))
  }

  /// Issue 12: after a restart execution resumes from the newest snapshot on disk,
  /// but a replica behind can fetch only the group's stable checkpoint, which may be
  /// older (simulator seed 670002643).
  @Test("a restarted stage serves the older snapshots kept on disk, never a newer one")
  func keepsOlderSnapshots() throws {
    var stage = ExecutionStage(
      service: KeyValueStore(), replica: 1, checkpointInterval: 2, keyring: Keys.keyring(1))
    var replies: [Reply] = []
    var taken: [CheckpointSnapshot] = []
    for order in OrderNumber(1)...6 {
      let batch = Batch(requests: [Self.put(order)])
      if let snapshot = stage.execute(order: order, view: 0, batch: batch, replies: &replies) {
        taken.append(snapshot)
      }
    }
    #expect(taken.map(\.order) == [2, 4, 6])
    var restarted = ExecutionStage(
      service: KeyValueStore(), replica: 1, checkpointInterval: 2, keyring: Keys.keyring(1))
    try restarted.install(taken[1])
    restarted.keep(taken[0])
    restarted.keep(taken[2])  // beyond what it executed: not served
    #expect(restarted.snapshots.keys.sorted() == [2, 4])
    #expect(restarted.snapshots[2]?.digest == taken[0].digest)
  }
}
