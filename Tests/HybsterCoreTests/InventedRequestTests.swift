import HybsterCore
import Testing
import TrInX

/// Requests a faulty leader invents, and requests a faulty client authenticates for
/// some replicas only, through view changes (issue 13; §5.2.1 "certified REQUEST",
/// §5.2.3). R0, the leader of view 0, is Byzantine and scripted by hand: it certifies
/// a PREPARE with its own TrInX instance and then falls silent.
@Suite("Invented and partially authenticated requests across view changes (issue 13)")
struct InventedRequestTests {
  typealias Net = Cluster<CountingService>

  static func configuration(_ mode: ClientAuthMode, n: Int = 3) -> ProtocolConfiguration {
    let c = ProtocolConfiguration(
      replicaCount: n, checkpointInterval: 4, windowSize: 8, maxBatchSize: 1, maxInFlight: 8,
      viewChangeTimeoutTicks: 2, clientAuthentication: mode)
    try! c.validate()
    return c
  }

  /// The victim's genuine request: client 3, lane 0, its first sequence number.
  static func genuine(_ mode: ClientAuthMode) -> Request {
    Keys.credentials(client: 3, replicas: 5, mode: mode).request(
      lane: 0, sequence: 1, operation: Array("pay bob 5".utf8))
  }

  /// What R0 invents: the victim's id, lane and next sequence number, with the
  /// signature and authenticator of the genuine request (valid, for another payload)
  /// and, with MACs, its own valid tag (R0 holds `k(c, 0)`).
  static func invented(_ mode: ClientAuthMode) -> Request {
    var request = genuine(mode)
    request.operation = Array("transfer all to mallory".utf8)
    if mode == .macs {
      var keyring = Keys.keyring(0)
      request.authenticator[0] = keyring.key(for: request.client)!.tag(request.payloadDigest)
    }
    return request
  }

  /// A request with valid MACs for every replica and a signature over another
  /// payload: a faulty client's, sent through a faulty leader (the trap of issue 13:
  /// a replica that checked only MACs would commit it).
  static var validMACsBadSignature: Request {
    var request = Keys.credentials(client: 3, replicas: 5, mode: .macs).request(
      lane: 0, sequence: 1, operation: Array("withdraw 100".utf8))
    request.signature = genuine(.signatures).signature
    return request
  }

  /// n = 5 (f = 2). R0 proposes `forged` at order 1 of view 0, which R1-R4 refuse to
  /// COMMIT; the client's genuine request waits at R1-R4. Every COMMIT of a view
  /// below `installedView` is lost, so each of those views fails and the next
  /// NEW-VIEW re-proposes the PREPARE again (it may have committed, for all anyone
  /// can tell). Runs until R1-R4 are in `installedView` or later and `done` holds.
  static func run(
    _ mode: ClientAuthMode, forged: Request, installedView: View, until done: (Net) -> Bool
  ) -> Net {
    let net = Net(configuration(mode, n: 5)) { CountingService() }
    let correct: [ReplicaID] = [1, 2, 3, 4]
    net.crashed = [0]
    let prepare = Forge.prepare(order: 1, batch: Batch(requests: [forged]))
    for r in correct { net.input(.message(.prepare(prepare), from: 0), at: r) }
    net.run()
    for r in correct {
      #expect(net.rejections[Int(r)] == [.clientAuthentication(forged.key, sequence: 1)])
    }
    #expect(net.sentMessages { if case .commit = $0.message { true } else { false } }.isEmpty)
    net.intercept = { e in
      if case .commit(let c) = e.message, c.view < installedView { return [] }
      return [e]
    }
    let request = genuine(mode)
    for round in 0..<4_000 {
      if round % 16 == 0 {
        // The client retransmits to every replica.
        for r in correct { net.input(.request(request), at: r) }
      }
      net.tickAll()
      net.run()
      if correct.allSatisfy({ net.pillars[Int($0)].view >= installedView }), done(net) { break }
    }
    for r in correct { #expect(net.pillars[Int(r)].view >= installedView, "replica \(r)") }
    // Each NEW-VIEW on the way re-proposed it.
    for view in 1...installedView {
      let reproposed = net.sent.contains { e in
        guard case .newView(let m) = e.message, m.view == view else { return false }
        return m.prepares.contains { $0.order == 1 && $0.batch.requests == [forged] }
      }
      #expect(reproposed, "view \(view)")
    }
    return net
  }

  /// The results replica `r` returned for client 3's lane 0, sequence 1.
  static func results(_ net: Net, _ r: Int) -> [[UInt8]] {
    net.replies[r].filter {
      $0.client == Keys.clientID(3) && $0.lane == 0 && $0.sequence == 1
    }.map(\.result)
  }

  @Test(
    "signatures: an invented request in a faulty leader's PREPARE never executes, after one or several view changes",
    arguments: [View(1), 2, 4])
  func inventedRequestNeverExecutes(installedView: View) {
    let invented = Self.invented(.signatures)
    let genuine = Self.genuine(.signatures)
    let net = Self.run(.signatures, forged: invented, installedView: installedView) { net in
      (1...4).allSatisfy { !Self.results(net, $0).isEmpty }
    }
    for r in 1...4 {
      // The NEW-VIEW re-proposed it (it might have committed): it was delivered
      // without it, and the client's own request took its sequence number.
      #expect(net.delivered[r].first?.order == 1)
      #expect(Self.results(net, r) == [genuine.operation], "replica \(r)")
      #expect(!net.replies[r].contains { $0.result == invented.operation })
    }
    #expect((1...4).allSatisfy { net.executions[$0].service.count == 1 })
  }

  @Test(
    "macs (known limitation, documented for --client-auth macs): a NEW-VIEW re-proposes an invented request and it executes"
  )
  func macsExecuteInventedRequest() {
    let invented = Self.invented(.macs)
    let net = Self.run(.macs, forged: invented, installedView: 1) { net in
      (1...4).allSatisfy { !Self.results(net, $0).isEmpty }
    }
    for r in 1...4 {
      // No follower could check R0's tags for the others: the invention executed
      // under the victim's sequence number, and the genuine request is stale.
      #expect(Self.results(net, r) == [invented.operation], "replica \(r)")
    }
  }

  @Test(
    "signatures: valid MACs with a bad signature are never committed nor executed, before or after a view change",
    arguments: [View(1), 2])
  func validMACsBadSignature(installedView: View) {
    let trap = Self.validMACsBadSignature
    let net = Self.run(.signatures, forged: trap, installedView: installedView) { net in
      (1...4).allSatisfy { !Self.results(net, $0).isEmpty }
    }
    for r in 1...4 {
      #expect(Self.results(net, r) == [Self.genuine(.signatures).operation])
      #expect(!net.replies[r].contains { $0.result == trap.operation })
    }
  }

  @Test("signatures: a correct leader refuses a request with valid MACs and a bad signature")
  func leaderRefusesBadSignature() {
    var leader = Keys.pillar(Self.configuration(.signatures), replica: 0)
    let trap = Self.validMACsBadSignature
    let actions = leader.handle(.request(trap))
    #expect(actions.rejections == [.clientAuthentication(trap.key, sequence: 1)])
    #expect(actions.prepares.isEmpty)
    #expect(leader.pendingCount == 0)
  }

  /// A faulty client's request: a valid signature, but MAC tags valid for R0 only.
  static var partiallyTagged: Request {
    var request = Keys.credentials(client: 5, replicas: 3).request(
      lane: 0, sequence: 1, operation: [0x0A])
    let tags = Keys.credentials(client: 5, replicas: 3, mode: .macs).request(
      lane: 0, sequence: 1, operation: [0x0A]
    ).authenticator
    request.authenticator = [tags[0], tags[0], tags[0]]
    return request
  }

  @Test(
    "signatures: a request with a valid signature and a partially valid authenticator executes everywhere"
  )
  func partialAuthenticatorExecutes() {
    let net = Net(Self.configuration(.signatures)) { CountingService() }
    let request = Self.partiallyTagged
    net.input(.request(request), at: 0)
    net.run()
    for r in 0..<3 {
      #expect(net.rejections[r].isEmpty)
      #expect(net.executed[r] == [RequestKey(client: Keys.clientID(5), lane: 0, sequence: 1)])
    }
  }

  @Test(
    "signatures: committed with a partially valid authenticator, it also executes at a replica that missed it, through a view change"
  )
  func partialAuthenticatorSurvivesViewChange() {
    let net = Net(Self.configuration(.signatures)) { CountingService() }
    let request = Self.partiallyTagged
    // R2 is cut off while R0 and R1 commit and execute the request.
    net.intercept = { $0.to == 2 ? [] : [$0] }
    net.input(.request(request), at: 0)
    net.run()
    #expect(net.executions[0].lastExecuted == 1 && net.executions[1].lastExecuted == 1)
    #expect(net.executions[2].lastExecuted == 0)
    // R0 crashes, R2 reconnects; a client's next request makes R1 and R2 suspect R0.
    net.crash(0)
    net.intercept = nil
    let next = Keys.credentials(client: 5, replicas: 3).request(
      lane: 1, sequence: 1, operation: [0x0B])
    for round in 0..<2_000 where net.executions[2].lastExecuted < 2 {
      if round % 16 == 0 { for r: ReplicaID in [1, 2] { net.input(.request(next), at: r) } }
      net.tickAll()
      net.run()
    }
    #expect(net.pillars[2].view >= 1)
    let key = RequestKey(client: Keys.clientID(5), lane: 0, sequence: 1)
    #expect(net.executed[2].first == key)
    #expect(net.executed[1].filter { $0 == key }.count == 1)
    #expect(net.executions[1].service.count == net.executions[2].service.count)
  }
}
