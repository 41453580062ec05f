import HybsterCore
import Testing

/// Resending over an unreliable network (§5.2.2: messages arrive only if "sent
/// sufficiently often").
@Suite("Retransmission (§5.2.2)")
struct RetransmissionTests {
  static let credentials = Keys.credentials(client: 4, replicas: 3)

  static func request(_ sequence: UInt64) -> Request {
    credentials.request(lane: 0, sequence: sequence, operation: [UInt8(sequence)])
  }

  @Test("a dropped PREPARE is recovered through STATUS after a tick")
  func droppedPrepare() {
    let cluster = Cluster(testConfiguration()) { CountingService() }
    var dropped = 0
    cluster.intercept = { envelope in
      if case .prepare = envelope.message, envelope.to == 2, dropped == 0 {
        dropped += 1
        return []
      }
      return [envelope]
    }
    cluster.input(.request(Self.request(1)), at: 0)
    cluster.run()
    #expect(dropped == 1)
    #expect(cluster.executions.map(\.lastExecuted) == [1, 1, 0])
    cluster.tickAll()
    // Only the replica that made no progress asks.
    let statuses = cluster.network.compactMap {
      if case .status(let s) = $0.message { s } else { nil }
    }
    #expect(Set(statuses.map(\.replica)) == [2])
    #expect(statuses.allSatisfy { $0.nextDelivery == 1 })
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [1, 1, 1])
    #expect(cluster.replies[2].map(\.sequence) == [1])
  }

  @Test("a leader that missed the COMMITs recovers them through STATUS")
  func droppedCommits() {
    let cluster = Cluster(testConfiguration()) { CountingService() }
    var armed = true
    cluster.intercept = { envelope in
      if armed, case .commit = envelope.message, envelope.to == 0 { return [] }
      return [envelope]
    }
    cluster.input(.request(Self.request(1)), at: 0)
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [0, 1, 1])
    armed = false
    cluster.tickAll()
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [1, 1, 1])
  }

  @Test("STATUS is answered at most once per tick per peer")
  func rateLimited() {
    var leader = Keys.pillar(testConfiguration(), replica: 0)
    _ = leader.handle(.request(Self.request(1)))
    _ = leader.handle(.request(Self.request(2)))
    let status = StatusMessage(replica: 2, view: 0, nextDelivery: 1)
    let first = leader.handle(.message(.status(status), from: 2))
    #expect(first.sends(to: 2).count == 2)  // PREPAREs 1 and 2
    #expect(leader.handle(.message(.status(status), from: 2)).isEmpty)
    // Another peer has its own budget.
    let other = StatusMessage(replica: 1, view: 0, nextDelivery: 1)
    #expect(leader.handle(.message(.status(other), from: 1)).sends(to: 1).count == 2)
    _ = leader.handle(.tick)
    #expect(leader.handle(.message(.status(status), from: 2)).sends(to: 2).count == 2)
    // A STATUS must come from the replica it names.
    let spoofed = leader.handle(.message(.status(status), from: 1))
    #expect(spoofed.rejections == [.senderMismatch(message: "STATUS", claimed: 2, sender: 1)])
  }

  @Test("a tick without progress broadcasts STATUS; with progress it does not")
  func tickStatus() {
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    #expect(
      follower.handle(.tick).statuses == [StatusMessage(replica: 1, view: 0, nextDelivery: 1)])
    let p = Forge.prepare(order: 1, batch: Batch(requests: [Self.request(1)]))
    _ = follower.handle(.message(.prepare(p), from: 0))
    #expect(follower.nextDelivery == 2)
    #expect(follower.handle(.tick).statuses.isEmpty)
    #expect(follower.handle(.tick).statuses.count == 1)
  }
}

@Suite("Retransmission of stable checkpoints (§5.2.2)")
struct CheckpointRetransmissionTests {
  static let credentials = Keys.credentials(client: 4, replicas: 3)

  /// Replica 2 executes up to its high water mark but loses every CHECKPOINT, so
  /// its window never moves; then replica 1 crashes. The leader and replica 2 are
  /// still a quorum (n = 3, f = 1), so the system must make progress once STATUS
  /// lets replica 2 learn the stable checkpoint it missed.
  @Test("a replica that missed a stable checkpoint learns it through STATUS")
  func missedStableCheckpoint() {
    let cluster = Cluster(testConfiguration(k: 2, w: 4, batch: 1, inFlight: 4)) {
      CountingService()
    }
    var lossy = true
    cluster.intercept = { envelope in
      if lossy, case .checkpoint = envelope.message, envelope.to == 2 { return [] }
      return [envelope]
    }
    for s in 1...4 {
      cluster.input(
        .request(Self.credentials.request(lane: 0, sequence: UInt64(s), operation: [])), at: 0)
    }
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [4, 4, 4])
    #expect(cluster.pillars.map(\.lowWaterMark) == [4, 4, 0])
    #expect(cluster.pillars[2].highWaterMark == 4)

    lossy = false
    cluster.crashed = [1]
    cluster.input(.request(Self.credentials.request(lane: 0, sequence: 5, operation: [])), at: 0)
    for _ in 0..<5 {
      cluster.run()
      cluster.tickAll()
    }
    cluster.run()
    #expect(cluster.pillars[2].lowWaterMark == 4)
    #expect(cluster.executions[0].lastExecuted == 5)
    #expect(cluster.executions[2].lastExecuted == 5)
  }
}
