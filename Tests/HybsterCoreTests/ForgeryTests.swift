import HybsterCore
import Testing
import TrInX

/// Forged certificates and unauthenticated requests are rejected and change
/// nothing (§5.1, §5.2.1).
@Suite("Forged certificates and client authentication (§5.1, §5.2.1)")
struct ForgeryTests {
  static let credentials = Keys.credentials(client: 3, replicas: 3)
  /// The same client with MAC authenticators.
  static let macCredentials = Keys.credentials(client: 3, replicas: 3, mode: .macs)
  static let batch = Batch(requests: [credentials.request(lane: 0, sequence: 1, operation: [1])])

  enum PrepareForgery: String, CaseIterable, CustomTestStringConvertible {
    case wrongIssuerInstance, wrongCounter, wrongValue, wrongView, continuing, flippedMAC
    case nonLeaderTrInX, tamperedBatch, wrongOrderUnderValidCertificate

    var testDescription: String { rawValue }

    /// The forged PREPARE for order 1 and the replica it comes from.
    var message: (Prepare, ReplicaID) {
      let batch = ForgeryTests.batch
      switch self {
      case .wrongIssuerInstance:
        return (Forge.prepare(order: 1, batch: batch, issuer: 77), 0)
      case .wrongCounter:
        return (Forge.prepare(order: 1, batch: batch, counter: CounterLayout.checkpoint), 0)
      case .wrongValue:
        return (Forge.prepare(order: 1, batch: batch, value: CounterValue(high: 0, low: 2)), 0)
      case .wrongView:
        return (Forge.prepare(order: 1, batch: batch, value: CounterValue(high: 1, low: 1)), 0)
      case .continuing:
        return (Forge.prepare(order: 1, batch: batch, continuing: true), 0)
      case .flippedMAC:
        var p = Forge.prepare(order: 1, batch: batch)
        p.certificate = Forge.flipped(p.certificate, byte: 31)
        return (p, 0)
      case .nonLeaderTrInX:
        // Replica 2 proposes with its own, genuine TrInX instance.
        return (Forge.prepare(order: 1, batch: batch, issuer: 2), 2)
      case .tamperedBatch:
        // A valid certificate for `batch`, carrying another (client-authentic) batch.
        var p = Forge.prepare(order: 1, batch: batch)
        p.batch = Batch(requests: [
          ForgeryTests.credentials.request(lane: 0, sequence: 1, operation: [2])
        ])
        return (p, 0)
      case .wrongOrderUnderValidCertificate:
        var p = Forge.prepare(order: 2, batch: batch)
        p.order = 1
        return (p, 0)
      }
    }
  }

  @Test("a forged PREPARE is rejected and changes nothing", arguments: PrepareForgery.allCases)
  func forgedPrepare(_ forgery: PrepareForgery) {
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    let (forged, sender) = forgery.message
    let actions = follower.handle(.message(.prepare(forged), from: sender))
    #expect(actions.rejections == [.invalidCertificate(message: "PREPARE", sender: sender)])
    #expect(actions.commits.isEmpty)
    #expect(follower.logSize == 0)
    // Nothing was stored: the genuine PREPARE is accepted afterwards.
    let genuine = follower.handle(
      .message(.prepare(Forge.prepare(order: 1, batch: Self.batch)), from: 0))
    #expect(genuine.rejections.isEmpty)
    #expect(genuine.commits.map(\.order) == [1])
  }

  @Test("after a genuine PREPARE, a second, different one for the same order is rejected")
  func conflictingPrepare() {
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    _ = follower.handle(.message(.prepare(Forge.prepare(order: 1, batch: Self.batch)), from: 0))
    var other = Forge.prepare(order: 1, batch: Self.batch)
    other.certificate = Forge.flipped(other.certificate)
    let actions = follower.handle(.message(.prepare(other), from: 0))
    #expect(actions.rejections == [.conflictingPrepare(order: 1)])
    #expect(actions.commits.isEmpty)
  }

  enum CommitForgery: String, CaseIterable, CustomTestStringConvertible {
    case otherReplicasInstance, wrongCounter, wrongValue, continuing, flippedMAC, wrongDigest
    var testDescription: String { rawValue }

    var commit: Commit {
      let d = ForgeryTests.batch.digest
      switch self {
      case .otherReplicasInstance:
        return Forge.commit(order: 1, batchDigest: d, replica: 1, issuer: 2)
      case .wrongCounter:
        return Forge.commit(order: 1, batchDigest: d, replica: 1, counter: CounterLayout.checkpoint)
      case .wrongValue:
        return Forge.commit(
          order: 1, batchDigest: d, replica: 1, value: CounterValue(high: 0, low: 3))
      case .continuing: return Forge.commit(order: 1, batchDigest: d, replica: 1, continuing: true)
      case .flippedMAC:
        var c = Forge.commit(order: 1, batchDigest: d, replica: 1)
        c.certificate = Forge.flipped(c.certificate, byte: 5)
        return c
      case .wrongDigest:
        var c = Forge.commit(order: 1, batchDigest: d, replica: 1)
        c.batchDigest = Digest.of([1, 2, 3])
        return c
      }
    }
  }

  @Test("a forged COMMIT is rejected and is not a vote", arguments: CommitForgery.allCases)
  func forgedCommit(_ forgery: CommitForgery) {
    var leader = Keys.pillar(testConfiguration(), replica: 0)
    let request = Self.credentials.request(lane: 0, sequence: 1, operation: [1])
    let prepare = leader.handle(.request(request)).prepares[0]
    #expect(prepare.batch == Self.batch)
    let actions = leader.handle(.message(.commit(forgery.commit), from: 1))
    #expect(actions.rejections == [.invalidCertificate(message: "COMMIT", sender: 1)])
    #expect(actions.deliveries.isEmpty)
    // The genuine COMMIT of replica 1 still counts: the forgery was not recorded.
    let genuine = Forge.commit(order: 1, batchDigest: prepare.batch.digest, replica: 1)
    #expect(leader.handle(.message(.commit(genuine), from: 1)).deliveries.map(\.order) == [1])
  }

  @Test("macs: a request whose tag for a follower is wrong is not COMMITted by that follower")
  func badTagForOneFollower() {
    let cluster = Cluster(testConfiguration(auth: .macs)) { CountingService() }
    var request = Self.macCredentials.request(lane: 0, sequence: 1, operation: [1])
    var tag = request.authenticator[2].bytes
    tag[0] ^= 0xFF
    request.authenticator[2] = AuthenticationTag(bytes: tag)!
    cluster.input(.request(request), at: 0)
    cluster.run()
    #expect(cluster.rejections[2] == [.clientAuthentication(request.key, sequence: 1)])
    let commitsBy2 = cluster.sent.filter {
      if case .commit(let c) = $0.message { c.replica == 2 } else { false }
    }
    #expect(commitsBy2.isEmpty)
    // Replica 1's tag is fine: leader + replica 1 form the quorum of n = 3, and
    // replica 2 delivers on their f+1 votes without having voted itself.
    #expect(cluster.executions[0].lastExecuted == 1)
    #expect(cluster.executions[1].lastExecuted == 1)
    #expect(cluster.executions[2].lastExecuted == 1)
    // The bad tag did not knock replica 2 out of the order: it COMMITs the next one.
    cluster.input(
      .request(Self.macCredentials.request(lane: 0, sequence: 2, operation: [2])), at: 0)
    cluster.run()
    let laterCommitsBy2 = cluster.sent.filter {
      if case .commit(let c) = $0.message { c.replica == 2 && c.order == 2 } else { false }
    }
    #expect(!laterCommitsBy2.isEmpty)
    #expect(cluster.executions[2].lastExecuted == 2)
  }

  @Test(
    "a request invented by the leader (valid TrInX certificate, bad client tags or signature) is refused",
    arguments: ClientAuthMode.allCases)
  func leaderForgedRequest(mode: ClientAuthMode) {
    let configuration = testConfiguration(auth: mode)
    var follower1 = Keys.pillar(configuration, replica: 1)
    let follower2 = Keys.pillar(configuration, replica: 2)
    // The leader knows only its own client key k(c, 0): it can tag for itself, and
    // fills the other positions with guesses; it copies the signature of a genuine
    // request of the client.
    var leaderKeyring = Keys.keyring(0)
    let leaderKey = leaderKeyring.key(for: Keys.clientID(3))!
    var invented = Request(
      client: Keys.clientID(3), lane: 0, sequence: 1, operation: Array("transfer all".utf8),
      authenticator: [],
      signature: Self.credentials.request(lane: 0, sequence: 1, operation: [1]).signature)
    let ownTag = leaderKey.tag(invented.payloadDigest)
    invented.authenticator = [ownTag, ownTag, ownTag]
    let prepare = Forge.prepare(order: 1, batch: Batch(requests: [invented]))
    for (pillar, id) in [(follower1, ReplicaID(1)), (follower2, ReplicaID(2))] {
      var pillar = pillar
      let actions = pillar.handle(.message(.prepare(prepare), from: 0))
      #expect(actions.rejections == [.clientAuthentication(invented.key, sequence: 1)], "\(id)")
      #expect(actions.commits.isEmpty)
      #expect(actions.deliveries.isEmpty)
    }
    // A missing authenticator position is a failed check too.
    invented.authenticator = [ownTag]
    let short = Forge.prepare(order: 1, batch: Batch(requests: [invented]))
    #expect(follower1.handle(.message(.prepare(short), from: 0)).commits.isEmpty)
  }

  @Test("a request with a bad tag for the leader is rejected and not proposed")
  func badTagAtLeader() {
    var leader = Keys.pillar(testConfiguration(), replica: 0)
    var request = Self.credentials.request(lane: 0, sequence: 1, operation: [1])
    request.operation = [2]  // tags no longer match the content
    let actions = leader.handle(.request(request))
    #expect(actions.rejections == [.clientAuthentication(request.key, sequence: 1)])
    #expect(actions.prepares.isEmpty)
    #expect(leader.pendingCount == 0)
    // A follower does not forward it either.
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    let f = follower.handle(.request(request))
    #expect(f.sends(to: 0).isEmpty)
    #expect(f.rejections.count == 1)
  }

  @Test("a follower forwards a valid client request to the leader, once")
  func forwarding() {
    var follower = Keys.pillar(testConfiguration(), replica: 1)
    let request = Self.credentials.request(lane: 0, sequence: 1, operation: [1])
    #expect(follower.handle(.request(request)).sends(to: 0) == [.forwardedRequest(request)])
    // A forwarded request is never forwarded again (no loops between followers).
    #expect(follower.handle(.message(.forwardedRequest(request), from: 2)).isEmpty)
  }

  @Test("forged CHECKPOINTs are rejected and are not votes")
  func forgedCheckpoint() {
    let digest = Digest.of([9])
    var pillar = Keys.pillar(testConfiguration(), replica: 0)
    _ = pillar.handle(.checkpointTaken(order: 4, stateDigest: digest))
    var flipped = Forge.checkpoint(order: 4, stateDigest: digest, replica: 1)
    flipped.certificate = Forge.flipped(flipped.certificate)
    var retargeted = Forge.checkpoint(order: 4, stateDigest: digest, replica: 1)
    retargeted.order = 8  // certificate covers order 4
    let forgeries = [
      Forge.checkpoint(order: 4, stateDigest: digest, replica: 1, independent: true),
      Forge.checkpoint(order: 4, stateDigest: digest, replica: 1, counter: CounterLayout.ordering),
      Forge.checkpoint(order: 4, stateDigest: digest, replica: 1, issuer: 2),
      flipped, retargeted,
    ]
    for forged in forgeries {
      let actions = pillar.handle(.message(.checkpoint(forged), from: 1))
      #expect(actions.rejections == [.invalidCertificate(message: "CHECKPOINT", sender: 1)])
      #expect(actions.stable.isEmpty)
    }
    #expect(pillar.lowWaterMark == 0)
    let genuine = Forge.checkpoint(order: 4, stateDigest: digest, replica: 1)
    #expect(pillar.handle(.message(.checkpoint(genuine), from: 1)).stable == [4])
  }
}

/// A service that counts executions (its state) and echoes the operation.
struct CountingService: ReplicatedService {
  var count: UInt64 = 0
  mutating func execute(_ operation: [UInt8]) -> [UInt8] {
    count += 1
    return operation
  }
  func snapshot() -> [UInt8] { withUnsafeBytes(of: count.bigEndian) { Array($0) } }
  mutating func restore(from snapshot: [UInt8]) throws {
    count = snapshot.reduce(0) { $0 << 8 | UInt64($1) }
  }
}
