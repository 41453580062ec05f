import DequeModule
import Foundation
import HybsterCore
import HybsterRuntime
import HybsterWire
import NIOCore

/// The client protocol (§5.2.1): send a request to the leader, accept a result once
/// f+1 replicas gave matching, authentic replies, and retransmit to all replicas
/// when no result arrives in time: a few of its usual latencies (``AdaptiveTimeout``,
/// at least ``minimumRetransmit``, at most the configured retransmission timeout), so
/// that a stopped leader costs a fraction of a second (issue 12). Requests started
/// in one event-loop turn are signed together, with one signature over their Merkle
/// root (issue 13). f+1 refusals (``HybsterWire/Refusal``) fail a request, or every
/// request if they refuse the client itself. Confined to one event loop.
final class ClientCore {
  typealias Completion = @Sendable (Result<[UInt8], HybsterClientError>) -> Void

  private struct Active {
    var frame: ByteBuffer
    var sentAt: NIODeadline
    var retransmitAt: NIODeadline
    var giveUpAt: NIODeadline
    var attempts: Int
    var votes: ReplyVotes
    var refusals: Set<ReplicaID> = []
    var completion: Completion
  }

  private struct Lane {
    var sequence: UInt64
    var active: Active?
  }

  private let eventLoop: any EventLoop
  private let credentials: ClientCredentials
  private let replicaCount: Int
  private let maxOperationSize: Int
  private let quorum: Int
  /// The retransmission timeout, in microseconds of measured request latency.
  private var retransmitTimeout: AdaptiveTimeout
  /// The shortest retransmission timeout.
  static let minimumRetransmit: TimeAmount = .milliseconds(100)
  private let giveUpAfter: TimeAmount
  private var connections: [OutboundConnection] = []
  private var lanes: [Lane]
  private var freeLanes: [Int]
  private var waiting: Deque<(operation: [UInt8], completion: Completion)> = []
  /// Requests started this turn, signed together at its end.
  private var unsigned: [(lane: Int, operation: [UInt8], completion: Completion)] = []
  private var sealScheduled = false
  /// Replicas that refused this client's connection, and why.
  private var connectionRefusals: [ReplicaID: Refusal] = [:]
  /// Why f+1 replicas refused this client, once they have.
  private var refusedClient: String?
  private var viewHint: View = 0
  private var dirty: [OutboundConnection] = []
  private var flushScheduled = false
  private var sweepTask: RepeatedTask?
  private var isShutDown = false
  private var connectionsNeeded = 0
  private let onRetransmit: () -> Void

  init(
    config: ClusterConfig, credentials: ClientCredentials, lanes laneCount: Int,
    eventLoop: any EventLoop, giveUpAfter: TimeAmount, onRetransmit: @escaping () -> Void
  ) {
    self.eventLoop = eventLoop
    self.credentials = credentials
    self.replicaCount = config.replicas.count
    self.maxOperationSize = config.protocolParameters.maxOperationSize
    self.quorum = config.protocolParameters.faultsTolerated + 1
    let ceiling = UInt64(config.timing.clientRetransmitMilliseconds) * 1000
    let floor = min(UInt64(Self.minimumRetransmit.nanoseconds / 1000), ceiling)
    self.retransmitTimeout = AdaptiveTimeout(
      minimum: floor, maximum: ceiling, initial: max(floor, ceiling / 4))
    self.giveUpAfter = giveUpAfter
    self.onRetransmit = onRetransmit
    // Sequence numbers start at the wall clock (µs) so that a restarted client with
    // the same id is never mistaken for a retransmission of old requests.
    let base = UInt64(Date().timeIntervalSince1970 * 1_000_000)
    self.lanes = Array(repeating: Lane(sequence: base, active: nil), count: laneCount)
    self.freeLanes = Array((0..<laneCount).reversed())
    let box = UnsafeTransfer(self)
    self.connections = config.replicas.map { address in
      OutboundConnection.toReplica(
        address, credentials: credentials, eventLoop: eventLoop
      ) { box.value.received($0) }
    }
  }

  /// Connects to every replica; completes once at least f+1 are connected, or
  /// fails after `timeout`.
  func start(connected promise: EventLoopPromise<Void>, timeout: TimeAmount) {
    connectionsNeeded = quorum
    let box = UnsafeTransfer(self)
    let timer = eventLoop.scheduleTask(in: timeout) {
      guard box.value.connectionsNeeded > 0 else { return }
      box.value.connectionsNeeded = -1
      promise.fail(HybsterClientError.connectionFailed("fewer than f+1 replicas reachable"))
    }
    for connection in connections {
      connection.onConnect = {
        box.value.connectionsNeeded -= 1
        guard box.value.connectionsNeeded == 0 else { return }
        timer.cancel()
        promise.succeed()
      }
      connection.start()
    }
    let period = TimeAmount.nanoseconds(
      max(Int64(retransmitTimeout.minimum) * 1000 / 4, 1_000_000))
    sweepTask = eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
      box.value.sweep()
    }
  }

  func submit(_ operation: [UInt8], completion: @escaping Completion) {
    guard !isShutDown else {
      completion(.failure(.shutdown))
      return
    }
    if let refusedClient { return completion(.failure(.refused(refusedClient))) }
    guard operation.count <= maxOperationSize else {
      // The replicas would refuse it (or, far larger, its frame): say so at once.
      return completion(
        .failure(
          .refused(
            "operation of \(operation.count) bytes; this group's maxOperationSize is \(maxOperationSize)"
          )))
    }
    guard let lane = freeLanes.popLast() else {
      waiting.append((operation, completion))
      return
    }
    start(operation, on: lane, completion: completion)
  }

  private func start(_ operation: [UInt8], on lane: Int, completion: @escaping Completion) {
    lanes[lane].sequence += 1
    unsigned.append((lane, operation, completion))
    guard !sealScheduled else { return }
    sealScheduled = true
    let box = UnsafeTransfer(self)
    eventLoop.execute { box.value.seal() }
  }

  /// Signs the requests started this turn together and sends them.
  private func seal() {
    sealScheduled = false
    let started = unsigned
    unsigned.removeAll(keepingCapacity: true)
    guard !isShutDown else { return }
    let requests = credentials.requests(
      started.map { (UInt32($0.lane), lanes[$0.lane].sequence, $0.operation) })
    for (item, request) in zip(started, requests) {
      send(request, on: item.lane, completion: item.completion)
    }
  }

  private func send(_ request: Request, on lane: Int, completion: @escaping Completion) {
    var frame = ByteBufferAllocator().buffer(capacity: WireCodec.frameLength(of: .request(request)))
    WireCodec.encode(.request(request), into: &frame)
    let now = NIODeadline.now()
    lanes[lane].active = Active(
      frame: frame, sentAt: now, retransmitAt: now + retransmitAfter, giveUpAt: now + giveUpAfter,
      attempts: 0,
      votes: ReplyVotes(faultsTolerated: quorum - 1), completion: completion)
    let leader = Int(viewHint % UInt64(replicaCount))
    if connections[leader].isConnected {
      send(frame, to: connections[leader])
    } else {
      for connection in connections { send(frame, to: connection) }
    }
  }

  private func received(_ answer: ReplicaAnswer) {
    switch answer {
    case .reply(let reply): received(reply)
    case .refused(let refusal, let replica): received(refusal, by: replica)
    }
  }

  /// A refusal of a request (its lane and sequence number) or of this client (a
  /// handshake refusal: the group does not admit it, or its keys are not its id's).
  /// Any other refusal without a request (a frame the replica could not decode) only
  /// closed that connection, which reconnects.
  private func received(_ refusal: Refusal, by replica: ReplicaID) {
    guard refusal.reason != .unknownClient, refusal.reason != .invalidProof else {
      connectionRefusals[replica] = refusal
      guard refusedClient == nil, connectionRefusals.count >= quorum else { return }
      refusedClient = refusal.detail
      for index in lanes.indices {
        if let active = lanes[index].active {
          lanes[index].active = nil
          freeLanes.append(index)
          active.completion(.failure(.refused(refusal.detail)))
        }
      }
      while let next = waiting.popFirst() { next.completion(.failure(.refused(refusal.detail))) }
      return
    }
    let laneIndex = Int(refusal.lane)
    guard laneIndex < lanes.count, var active = lanes[laneIndex].active,
      refusal.sequence == lanes[laneIndex].sequence
    else { return }
    active.refusals.insert(replica)
    guard active.refusals.count >= quorum else {
      lanes[laneIndex].active = active
      return
    }
    lanes[laneIndex].active = nil
    finish(lane: laneIndex)
    active.completion(.failure(.refused(refusal.detail)))
  }

  private func received(_ reply: Reply) {
    let laneIndex = Int(reply.lane)
    guard laneIndex < lanes.count, var active = lanes[laneIndex].active,
      reply.sequence == lanes[laneIndex].sequence, !active.votes.hasVote(of: reply.replica),
      credentials.verify(reply)
    else { return }
    guard let result = active.votes.record(reply) else {
      lanes[laneIndex].active = active
      return
    }
    // Not the highest view any one reply claims: a faulty replica would steer every
    // first send to a leader of its choosing.
    viewHint = max(viewHint, active.votes.viewHint!)
    if active.attempts == 0 {
      // Only first sends measure the latency (Karn's rule: a retransmitted request's
      // reply may answer either send).
      let elapsed = (NIODeadline.now() - active.sentAt).nanoseconds / 1000
      retransmitTimeout.observe(UInt64(max(elapsed, 0)))
    }
    lanes[laneIndex].active = nil
    finish(lane: laneIndex)
    active.completion(.success(result))
  }

  private func finish(lane: Int) {
    if let next = waiting.popFirst() {
      start(next.operation, on: lane, completion: next.completion)
    } else {
      freeLanes.append(lane)
    }
  }

  /// Retransmits overdue requests to every replica (the leader may be faulty or the
  /// message lost) with a growing timeout, and gives up after the time limit.
  private func sweep() {
    let now = NIODeadline.now()
    for index in lanes.indices {
      guard var active = lanes[index].active, active.retransmitAt <= now else { continue }
      if active.giveUpAt <= now {
        lanes[index].active = nil
        finish(lane: index)
        active.completion(.failure(.timeout))
        continue
      }
      active.attempts += 1
      active.retransmitAt = now + retransmitAfter * Int64(1 << min(active.attempts, 3))
      lanes[index].active = active
      onRetransmit()
      for connection in connections { send(active.frame, to: connection) }
    }
  }

  private var retransmitAfter: TimeAmount {
    .microseconds(Int64(retransmitTimeout.current))
  }

  private func send(_ frame: ByteBuffer, to connection: OutboundConnection) {
    guard connection.write(frame) else { return }
    dirty.append(connection)
    guard !flushScheduled else { return }
    flushScheduled = true
    let box = UnsafeTransfer(self)
    eventLoop.execute {
      let core = box.value
      core.flushScheduled = false
      for connection in core.dirty { connection.flush() }
      core.dirty.removeAll(keepingCapacity: true)
    }
  }

  func shutdown() {
    isShutDown = true
    sweepTask?.cancel()
    for connection in connections { connection.close() }
    for index in lanes.indices {
      if let active = lanes[index].active {
        lanes[index].active = nil
        active.completion(.failure(.shutdown))
      }
    }
    while let next = waiting.popFirst() { next.completion(.failure(.shutdown)) }
    for item in unsigned { item.completion(.failure(.shutdown)) }
    unsigned.removeAll()
  }
}
