import HybsterCore
import Testing
import TrInX

/// §5.2.2: checkpoints, garbage collection and the strict ordering window.
@Suite("Checkpoints and the ordering window (§5.2.2)")
struct CheckpointWindowTests {
  static let credentials = Keys.credentials(client: 5, replicas: 3)

  static func request(_ sequence: UInt64) -> Request {
    credentials.request(
      lane: 0, sequence: sequence, operation: [UInt8(truncatingIfNeeded: sequence)])
  }

  @Test("messages for instances above low + W are dropped")
  func outOfWindow() {
    let configuration = testConfiguration(k: 4, w: 8)
    var follower = Keys.pillar(configuration, replica: 1)
    #expect(follower.highWaterMark == 8)
    let batch = Batch(requests: [Self.request(1)])
    let prepare = Forge.prepare(order: 9, batch: batch)
    #expect(
      follower.handle(.message(.prepare(prepare), from: 0)).rejections == [
        .outsideWindow(message: "PREPARE", order: 9, low: 0, high: 8)
      ])
    let commit = Forge.commit(order: 9, batchDigest: batch.digest, replica: 2)
    #expect(follower.handle(.message(.commit(commit), from: 2)).rejections.count == 1)
    // A CHECKPOINT beyond the window is only learned from (one vote per replica):
    // it is not acted upon, and alone it moves nothing.
    let checkpoint = Forge.checkpoint(order: 12, stateDigest: .zero, replica: 2)
    let learned = follower.handle(.message(.checkpoint(checkpoint), from: 2))
    #expect(learned.stable.isEmpty && learned.stateTransfers.isEmpty)
    #expect(follower.lowWaterMark == 0)
    #expect(follower.logSize == 0)
    // The boundary itself is inside: low < o ≤ low + W.
    let edge = Forge.prepare(order: 8, batch: batch)
    #expect(follower.handle(.message(.prepare(edge), from: 0)).rejections.isEmpty)
    #expect(follower.logSize == 1)
    // Own checkpoints outside the window are not taken either.
    #expect(follower.handle(.checkpointTaken(order: 12, stateDigest: .zero)).isEmpty)
  }

  @Test(
    "the leader never proposes beyond the high water mark and resumes after a stable checkpoint")
  func leaderStopsAtHighWaterMark() {
    let cluster = Cluster(testConfiguration(k: 2, w: 4, batch: 1, inFlight: 4)) {
      CountingService()
    }
    cluster.feedCheckpoints = false
    // W = 4, B = 1: the leader queues at most B·W = 4 requests beyond its proposals.
    for s in 1...9 { cluster.input(.request(Self.request(UInt64(s))), at: 0) }
    cluster.run()
    for _ in 0..<3 {
      cluster.fireTimers()
      cluster.tickAll()
      cluster.run()
    }
    #expect(cluster.proposals().map(\.order) == [1, 2, 3, 4])
    #expect(cluster.pillars[0].pendingCount == 4)
    #expect(cluster.executions.map(\.lastExecuted) == [4, 4, 4])
    #expect(cluster.pillars.map(\.lowWaterMark) == [0, 0, 0])

    // Checkpoints 2 and 4 are taken now: the window moves to (4, 8], the leader
    // proposes 5...8 at once, and (checkpoints now flowing) the window moves on.
    cluster.feedCheckpoints = true
    for r in cluster.configuration.replicas {
      for snapshot in cluster.snapshots[Int(r)] {
        cluster.input(.checkpointTaken(order: snapshot.order, stateDigest: snapshot.digest), at: r)
      }
    }
    cluster.run()
    #expect(cluster.proposals().map(\.order) == Array(1...8))
    #expect(cluster.pillars.map(\.lowWaterMark) == [8, 8, 8])
    #expect(cluster.executions.map(\.lastExecuted) == [8, 8, 8])
    // Request 9 was dropped by the bounded queue; the client's retry gets through.
    cluster.input(.request(Self.request(9)), at: 0)
    cluster.run()
    #expect(cluster.executions.map(\.service.count) == [9, 9, 9])
  }

  @Test("every K instances a CHECKPOINT with a trusted MAC on counter 1; f+1 make it stable")
  func checkpointLifecycle() {
    let cluster = Cluster(testConfiguration(k: 4, w: 8)) { CountingService() }
    for s in 1...4 { cluster.input(.request(Self.request(UInt64(s))), at: 0) }
    cluster.run()
    #expect(cluster.snapshots.map { $0.map(\.order) } == [[4], [4], [4]])
    let digests = Set(cluster.snapshots.map { $0[0].digest })
    #expect(digests.count == 1)

    let checkpoints: [CheckpointMessage] = cluster.sent.compactMap {
      if case .checkpoint(let c) = $0.message, $0.to != c.replica { c } else { nil }
    }
    #expect(Set(checkpoints.map(\.replica)) == [0, 1, 2])
    for c in checkpoints {
      #expect(c.order == 4)
      #expect(c.stateDigest == digests.first)
      #expect(c.certificate.counter == CounterLayout.checkpoint)
      #expect(c.certificate.isTrustedMAC)
      #expect(c.certificate.issuer == TrInXInstanceID(c.replica))
      #expect(
        Forge.trinx(50).verify(
          c.certificate,
          message: CheckpointMessage.certifiedDigest(order: 4, stateDigest: c.stateDigest)))
    }
    for r in 0..<3 {
      #expect(cluster.stableCheckpoints[r] == [4])
      #expect(cluster.pillars[r].lowWaterMark == 4)
      #expect(cluster.pillars[r].highWaterMark == 12)
      #expect(cluster.pillars[r].logSize == 0)
      #expect(cluster.pillars[r].stableCheckpoint?.proof.count ?? 0 >= 2)
      #expect(cluster.stateTransfers[r].isEmpty)
    }
    // More traffic: the log holds only instances above the low water mark.
    for s in 5...6 { cluster.input(.request(Self.request(UInt64(s))), at: 0) }
    cluster.run()
    #expect(cluster.pillars.map(\.logSize) == [2, 2, 2])
    for s in 7...8 { cluster.input(.request(Self.request(UInt64(s))), at: 0) }
    cluster.run()
    #expect(cluster.pillars.map(\.lowWaterMark) == [8, 8, 8])
    #expect(cluster.pillars.map(\.logSize) == [0, 0, 0])
    // The stable snapshot and the two before it stay, for lagging replicas' state
    // transfer; older ones go.
    #expect(cluster.executions.map { $0.snapshots.keys.sorted() } == [[4, 8], [4, 8], [4, 8]])
    for s in 9...16 { cluster.input(.request(Self.request(UInt64(s))), at: 0) }
    cluster.run()
    #expect(cluster.pillars.map(\.lowWaterMark) == [16, 16, 16])
    #expect(
      cluster.executions.map { $0.snapshots.keys.sorted() } == [
        [8, 12, 16], [8, 12, 16], [8, 12, 16],
      ])
  }

  @Test("one vote, or votes with mismatching digests, never make a checkpoint stable")
  func mismatchingDigests() {
    var pillar = Keys.pillar(testConfiguration(n: 5), replica: 0)
    let a = Digest.of([1])
    let b = Digest.of([2])
    var actions = pillar.handle(.checkpointTaken(order: 4, stateDigest: a))
    #expect(actions.checkpoints.count == 1)
    #expect(actions.stable.isEmpty)
    for (r, d) in [(ReplicaID(1), b), (2, b), (3, a)] {
      actions = pillar.handle(
        .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: r)), from: r))
      #expect(actions.stable.isEmpty)
      // Duplicates of a vote are not a second vote.
      actions = pillar.handle(
        .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: r)), from: r))
      #expect(actions.stable.isEmpty)
    }
    #expect(pillar.lowWaterMark == 0)
    // The third matching vote for `a`.
    actions = pillar.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: a, replica: 4)), from: 4))
    #expect(actions.stable == [4])
    #expect(pillar.stableCheckpoint?.stateDigest == a)
    #expect(pillar.stableCheckpoint?.proof.map(\.replica) == [0, 3, 4])
  }

  @Test("a replica behind a stable checkpoint is told to fetch state")
  func behindStableCheckpoint() {
    var follower = Keys.pillar(testConfiguration(), replica: 2)
    let d = Digest.of([7])
    var actions = follower.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: 0)), from: 0))
    #expect(actions.stateTransfers.isEmpty)
    actions = follower.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: 1)), from: 1))
    #expect(actions.stable == [4])
    #expect(
      actions.contains(.stateTransferNeeded(order: 4, stateDigest: d, from: [0, 1])))
    #expect(follower.lowWaterMark == 4)
  }

  @Test("a replica whose own checkpoint digest lost is told to fetch state")
  func divergedCheckpoint() {
    var pillar = Keys.pillar(testConfiguration(), replica: 0)
    let mine = Digest.of([1])
    let theirs = Digest.of([2])
    _ = pillar.handle(.checkpointTaken(order: 4, stateDigest: mine))
    _ = pillar.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: theirs, replica: 1)), from: 1))
    let actions = pillar.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: theirs, replica: 2)), from: 2))
    #expect(actions.stable == [4])
    #expect(actions.stateTransfers == [4])
  }

  @Test("stale CHECKPOINTs at or below the low water mark are ignored")
  func staleCheckpoints() {
    var pillar = Keys.pillar(testConfiguration(), replica: 0)
    let d = Digest.of([3])
    _ = pillar.handle(.checkpointTaken(order: 4, stateDigest: d))
    _ = pillar.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: 1)), from: 1))
    #expect(pillar.lowWaterMark == 4)
    let late = pillar.handle(
      .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: 2)), from: 2))
    #expect(late.isEmpty)
    #expect(pillar.stableCheckpoint?.proof.count == 2)
  }
}

@Suite("Checkpoints beyond the window (§5.2.2)")
struct BeyondWindowCheckpointTests {
  @Test("a replica more than a window behind learns from f+1 votes and asks for state")
  func farBehind() {
    var pillar = Keys.pillar(testConfiguration(n: 5, k: 4, w: 8), replica: 4)
    let d = Digest.of([9])
    // Order 40 is far above this replica's window (0, 8].
    var actions: [PillarAction] = []
    for r: ReplicaID in [0, 1] {
      actions = pillar.handle(
        .message(.checkpoint(Forge.checkpoint(order: 40, stateDigest: d, replica: r)), from: r))
      #expect(actions.stable.isEmpty, "f votes are not enough")
    }
    actions = pillar.handle(
      .message(.checkpoint(Forge.checkpoint(order: 40, stateDigest: d, replica: 2)), from: 2))
    #expect(actions.stable == [40])
    #expect(actions.stateTransfers == [40])
    #expect(pillar.lowWaterMark == 40)
  }

  @Test("beyond the window each replica keeps one vote: a flood cannot grow memory")
  func bounded() {
    var pillar = Keys.pillar(testConfiguration(n: 3, k: 4, w: 8), replica: 0)
    for i in 1...500 {
      let order = UInt64(100 + 4 * i)
      let vote = Forge.checkpoint(
        order: order, stateDigest: Digest.of([UInt8(i % 256)]), replica: 1)
      #expect(pillar.handle(.message(.checkpoint(vote), from: 1)).stable.isEmpty)
    }
    // One forged-digest vote from replica 1 never makes anything stable alone, and a
    // lower vote after a higher one from the same replica is ignored.
    #expect(pillar.lowWaterMark == 0)
    let matching = Forge.checkpoint(order: 2100, stateDigest: Digest.of([244]), replica: 2)
    #expect(pillar.handle(.message(.checkpoint(matching), from: 2)).stable == [2100])
  }
}

@Suite("State transfer resumes delivery (§5.2.2)")
struct StateTransferTests {
  @Test("after .stateTransferred at the stable checkpoint, delivery resumes after it")
  func resume() {
    let credentials = Keys.credentials(client: 5, replicas: 3)
    var follower = Keys.pillar(testConfiguration(k: 4, w: 8), replica: 2)
    let d = Digest.of([7])
    for r: ReplicaID in [0, 1] {
      _ = follower.handle(
        .message(.checkpoint(Forge.checkpoint(order: 4, stateDigest: d, replica: r)), from: r))
    }
    #expect(follower.lowWaterMark == 4)
    #expect(follower.nextDelivery == 1)
    let batch = Batch(requests: [credentials.request(lane: 0, sequence: 9, operation: [])])
    let prepared = follower.handle(
      .message(.prepare(Forge.prepare(order: 5, batch: batch)), from: 0))
    #expect(prepared.commits.map(\.order) == [5])
    #expect(prepared.deliveries.isEmpty)  // still behind
    // Only the current stable checkpoint counts.
    #expect(follower.handle(.stateTransferred(order: 3, executed: ReplyCache())).isEmpty)
    #expect(follower.handle(.stateTransferred(order: 8, executed: ReplyCache())).isEmpty)
    #expect(follower.nextDelivery == 1)
    let resumed = follower.handle(.stateTransferred(order: 4, executed: ReplyCache()))
    #expect(resumed.deliveries.map(\.order) == [5])
    #expect(follower.nextDelivery == 6)
    // A repeated notice changes nothing.
    #expect(follower.handle(.stateTransferred(order: 4, executed: ReplyCache())).isEmpty)
  }
}
