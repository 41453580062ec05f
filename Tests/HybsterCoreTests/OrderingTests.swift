import HybsterCore
import Testing
import TrInX

/// §5.2.1: PREPARE from the leader, COMMIT from followers, f+1 matching votes,
/// execution in order of o.
@Suite("Ordering (§5.2.1)")
struct OrderingTests {
  let client = Keys.credentials(client: 7, replicas: 3)

  func request(_ sequence: UInt64, lane: UInt32 = 0, n: Int = 3) -> Request {
    Keys.credentials(client: 7, replicas: n).request(
      lane: lane, sequence: sequence, operation: [UInt8(truncatingIfNeeded: sequence)])
  }

  @Test("the leader proposes with an independent certificate [v|o] on counter 0")
  func leaderPrepare() {
    var leader = Keys.pillar(testConfiguration(), replica: 0)
    #expect(leader.isLeader)
    let first = leader.handle(.request(request(1)))
    let second = leader.handle(.request(request(2)))
    let prepares = first.prepares + second.prepares
    #expect(prepares.map(\.order) == [1, 2])
    let verifier = Forge.trinx(99)
    for p in prepares {
      #expect(p.view == 0)
      #expect(p.certificate.issuer == 0)
      #expect(p.certificate.counter == CounterLayout.ordering)
      #expect(p.certificate.kind == .independent)
      #expect(p.certificate.newValue == CounterValue(high: 0, low: p.order))
      #expect(
        verifier.verify(
          p.certificate,
          message: Prepare.certifiedDigest(view: 0, order: p.order, batchDigest: p.batch.digest)))
    }
    #expect(prepares[0].batch.requests == [request(1)])
    #expect(first.deliveries.isEmpty)
  }

  @Test("a follower COMMITs a valid PREPARE with τ(r, 𝔒, [v|o], –)")
  func followerCommit() {
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    let batch = Batch(requests: [request(1)])
    let actions = follower.handle(
      .message(.prepare(Forge.prepare(order: 1, batch: batch)), from: 0))
    #expect(actions.rejections.isEmpty)
    let commits = actions.commits
    #expect(commits.count == 1)
    let commit = commits[0]
    #expect((commit.view, commit.order, commit.replica) == (0, 1, 1))
    #expect(commit.batchDigest == batch.digest)
    #expect(commit.certificate.issuer == 1)
    #expect(commit.certificate.counter == CounterLayout.ordering)
    #expect(commit.certificate.kind == .independent)
    #expect(commit.certificate.newValue == CounterValue(high: 0, low: 1))
    #expect(
      Forge.trinx(0).verify(
        commit.certificate,
        message: Commit.certifiedDigest(view: 0, order: 1, batchDigest: batch.digest)))
    // n = 3: PREPARE + own COMMIT = 2 = q, so the follower delivers at once.
    #expect(actions.deliveries.map(\.order) == [1])
  }

  @Test("n = 5: the PREPARE and one COMMIT are not a quorum; two COMMITs are")
  func quorumOfFive() {
    let configuration = testConfiguration(n: 5)
    var leader = Keys.pillar(configuration, replica: 0)
    let prepare = leader.handle(.request(request(1, n: 5))).prepares[0]
    let digest = prepare.batch.digest
    let c1 = Forge.commit(order: 1, batchDigest: digest, replica: 1)
    let c2 = Forge.commit(order: 1, batchDigest: digest, replica: 2)
    #expect(leader.handle(.message(.commit(c1), from: 1)).deliveries.isEmpty)
    #expect(leader.nextDelivery == 1)
    #expect(leader.handle(.message(.commit(c2), from: 2)).deliveries.map(\.order) == [1])
    #expect(leader.nextDelivery == 2)

    // At a follower: PREPARE + own COMMIT = 2 < 3; one more COMMIT makes 3.
    var follower = Keys.pillar(configuration, replica: 3)
    let a = follower.handle(.message(.prepare(prepare), from: 0))
    #expect(a.commits.count == 1)
    #expect(a.deliveries.isEmpty)
    #expect(follower.handle(.message(.commit(c1), from: 1)).deliveries.map(\.order) == [1])
  }

  @Test("n = 3: the PREPARE and one COMMIT are a quorum at the leader")
  func quorumOfThree() {
    var leader = Keys.pillar(testConfiguration(), replica: 0)
    let prepare = leader.handle(.request(request(1))).prepares[0]
    let commit = Forge.commit(order: 1, batchDigest: prepare.batch.digest, replica: 2)
    #expect(leader.handle(.message(.commit(commit), from: 2)).deliveries.map(\.order) == [1])
  }

  @Test("COMMITs for another batch digest do not count")
  func mismatchingCommits() {
    var leader = Keys.pillar(testConfiguration(n: 5), replica: 0)
    let prepare = leader.handle(.request(request(1, n: 5))).prepares[0]
    let other = Batch(requests: [request(2, n: 5)]).digest
    for r: ReplicaID in [1, 2, 3] {
      let c = Forge.commit(order: 1, batchDigest: other, replica: r)
      #expect(leader.handle(.message(.commit(c), from: r)).deliveries.isEmpty)
    }
    let good = Forge.commit(order: 1, batchDigest: prepare.batch.digest, replica: 4)
    #expect(leader.handle(.message(.commit(good), from: 4)).deliveries.isEmpty)
  }

  @Test("out-of-order PREPAREs: nothing is committed before the gap is filled, then in order")
  func outOfOrderPrepares() {
    var follower = Keys.pillar(testConfiguration(), replica: 2)
    let b1 = Batch(requests: [request(1)])
    let b2 = Batch(requests: [request(2)])
    let early = follower.handle(.message(.prepare(Forge.prepare(order: 2, batch: b2)), from: 0))
    #expect(early.commits.isEmpty)
    #expect(early.deliveries.isEmpty)
    #expect(early.rejections.isEmpty)
    let late = follower.handle(.message(.prepare(Forge.prepare(order: 1, batch: b1)), from: 0))
    #expect(late.commits.map(\.order) == [1, 2])
    #expect(late.deliveries.map(\.order) == [1, 2])
    #expect(late.deliveries.map(\.batch) == [b1, b2])
  }

  @Test("a COMMIT quorum for o = 2 is not delivered before o = 1")
  func deliveryWaitsForGap() {
    var leader = Keys.pillar(testConfiguration(), replica: 0)
    let p1 = leader.handle(.request(request(1))).prepares[0]
    let p2 = leader.handle(.request(request(2))).prepares[0]
    let c2 = Forge.commit(order: 2, batchDigest: p2.batch.digest, replica: 1)
    #expect(leader.handle(.message(.commit(c2), from: 1)).deliveries.isEmpty)
    let c1 = Forge.commit(order: 1, batchDigest: p1.batch.digest, replica: 1)
    #expect(leader.handle(.message(.commit(c1), from: 1)).deliveries.map(\.order) == [1, 2])
  }

  @Test("duplicate PREPAREs and COMMITs are ignored: no double counting, no second delivery")
  func duplicates() {
    // n = 5 at the leader: a duplicated COMMIT must not make two votes.
    var leader = Keys.pillar(testConfiguration(n: 5), replica: 0)
    let prepare = leader.handle(.request(request(1, n: 5))).prepares[0]
    let c1 = Forge.commit(order: 1, batchDigest: prepare.batch.digest, replica: 1)
    for _ in 0..<3 {
      let actions = leader.handle(.message(.commit(c1), from: 1))
      #expect(actions.deliveries.isEmpty)
      #expect(actions.rejections.isEmpty)
    }
    // The same COMMIT relayed by another replica is still one vote.
    #expect(leader.handle(.message(.commit(c1), from: 2)).deliveries.isEmpty)
    let c2 = Forge.commit(order: 1, batchDigest: prepare.batch.digest, replica: 2)
    #expect(leader.handle(.message(.commit(c2), from: 2)).deliveries.count == 1)
    #expect(leader.handle(.message(.commit(c2), from: 2)).deliveries.isEmpty)
    let c3 = Forge.commit(order: 1, batchDigest: prepare.batch.digest, replica: 3)
    #expect(leader.handle(.message(.commit(c3), from: 3)).isEmpty)

    // A follower COMMITs a PREPARE once and delivers it once.
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    let p = Forge.prepare(order: 1, batch: Batch(requests: [request(1)]))
    #expect(follower.handle(.message(.prepare(p), from: 0)).commits.count == 1)
    for _ in 0..<3 {
      #expect(follower.handle(.message(.prepare(p), from: 0)).isEmpty)
      // A relayed copy from the other follower is the same PREPARE.
      #expect(follower.handle(.message(.prepare(p), from: 2)).isEmpty)
    }
    #expect(follower.nextDelivery == 2)
  }

  @Test("a COMMIT that names the leader or this replica is rejected")
  func commitSenderRules() {
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    let digest = Batch(requests: [request(1)]).digest
    let fromLeader = Forge.commit(order: 1, batchDigest: digest, replica: 0)
    #expect(
      follower.handle(.message(.commit(fromLeader), from: 0)).rejections == [
        .senderMismatch(message: "COMMIT", claimed: 0, sender: 0)
      ])
    let ours = Forge.commit(order: 1, batchDigest: digest, replica: 1)
    #expect(follower.handle(.message(.commit(ours), from: 2)).rejections.count == 1)
    let unknown = follower.handle(.message(.commit(ours), from: 9))
    #expect(unknown.rejections == [.unknownReplica(9)])
    #expect(follower.logSize == 0)
  }
}
