import HybsterCore
import Testing
import TrInX

@testable import HybsterSimulation

/// The adversary of issue 10, item 2: an adaptive Byzantine replica that certifies
/// only with its own TrInX instances (§5.1), an adversarial scheduler, and twins.
@Suite("Adaptive adversary and adversarial scheduler (issue 10)")
struct AdversaryTests {
  static let key = [UInt8](repeating: 7, count: 32)

  static func instance(_ id: TrInXInstanceID = 0) -> TrInXInstance {
    try! TrInXInstance(id: id, counterCount: CounterLayout.count, key: key)
  }

  static func prepare(view: View, order: OrderNumber, batch: Batch, issuer: TrInXInstanceID = 0)
    -> Prepare
  {
    // A placeholder certificate of the replica's own instance: the adversary replaces it.
    var scratch = instance(issuer)
    let certificate = try! scratch.certifyIndependent(
      counter: CounterLayout.ordering, newValue: CounterValue(high: view, low: order),
      message: Digest.zero)
    return Prepare(view: view, order: order, batch: batch, certificate: certificate)
  }

  static func batch(_ byte: UInt8) -> Batch {
    Batch(
      requests: [
        Request(client: 0, lane: 0, sequence: UInt64(byte), operation: [byte], authenticator: [])
      ])
  }

  @Test("§5.1: the signer certifies a counter value for one message only, and resends it")
  func signerIsOneCounter() throws {
    var signer = AdversarySigner(trinx: Self.instance())
    let value = CounterValue(high: 2, low: 1)
    let first = signer.independent(value, over: Digest.of([1]))
    let resend = signer.independent(value, over: Digest.of([1]))
    let other = signer.independent(value, over: Digest.of([2]))
    let lower = signer.independent(CounterValue(high: 1, low: 9), over: Digest.of([3]))
    let a = try #require(first)
    #expect(resend == a)
    #expect(other == nil)
    #expect(lower == nil)
    #expect(signer.verify(a, over: Digest.of([1])))
    // Cleaning moves the counter to [3|0]; the next continuing certificate shows it.
    let cleaned = signer.clean(to: 3)
    let again = signer.clean(to: 3)
    #expect(cleaned)
    #expect(!again)
    let next = signer.continuing(to: CounterValue(high: 4, low: 0), over: Digest.of([4]))
    let continuing = try #require(next)
    #expect(continuing.previousValue == CounterValue(high: 3, low: 0))
    #expect(signer.ordering == CounterValue(high: 4, low: 0))
  }

  @Test("Twins: two copies' PREPAREs for one (v, o) share one counter; the second is dropped")
  func twinsShareOneCounter() {
    let configuration = ProtocolConfiguration(
      replicaCount: 3, checkpointInterval: 4, windowSize: 8)
    var adversary = AdaptiveAdversary(
      replica: 0, configuration: configuration, trinx: [Self.instance(0)],
      random: SimulationRandom(seed: 1))
    adversary.profile.withheld = [:]
    let first = Self.prepare(view: 3, order: 1, batch: Self.batch(1))
    let second = Self.prepare(view: 3, order: 1, batch: Self.batch(2))
    let sent = adversary.transform(
      [Outgoing(message: .prepare(first), to: 1)], pillar: 0)
    let twin = adversary.transform([Outgoing(message: .prepare(second), to: 2)], pillar: 0)
    let resent = adversary.transform([Outgoing(message: .prepare(first), to: 2)], pillar: 0)
    #expect(twin.isEmpty)
    guard case .prepare(let certified)? = sent.first?.message,
      case .prepare(let again)? = resent.first?.message
    else {
      Issue.record("the first PREPARE and its resend go out")
      return
    }
    #expect(certified.certificate == again.certificate)
    #expect(adversary.isValid(certified, pillar: 0) == (configuration.leader(of: 3) == 0))
  }

  @Test("§5.2.3: after a future PREPARE, the pillar's VIEW-CHANGE shows the true counter")
  func viewChangeRevealsTheCounter() throws {
    let configuration = ProtocolConfiguration(
      replicaCount: 3, checkpointInterval: 4, windowSize: 8)
    var adversary = AdaptiveAdversary(
      replica: 2, configuration: configuration,
      trinx: [Self.instance(configuration.trinxInstance(of: 2, pillar: 0))],
      random: SimulationRandom(seed: 2))
    adversary.profile.withheld = [:]
    let id = configuration.trinxInstance(of: 2, pillar: 0)
    _ = adversary.transform(
      [
        Outgoing(
          message: .prepare(Self.prepare(view: 2, order: 1, batch: .empty, issuer: id)), to: 0)
      ],
      pillar: 0)
    var copy = Self.instance(id)
    let viewChange = ViewChange(
      replica: 2, fromView: 0, toView: 1, checkpoint: nil, prepares: [],
      certificate: try copy.certifyContinuing(
        counter: CounterLayout.ordering, newValue: CounterValue(high: 1, low: 0),
        message: Digest.zero))
    // View 1 is below the counter: TrInX refuses, nothing goes out.
    #expect(
      adversary.transform([Outgoing(message: .viewChange(viewChange), to: 0)], pillar: 0).isEmpty)
    var later = viewChange
    later.toView = 3
    let out = adversary.transform([Outgoing(message: .viewChange(later), to: 0)], pillar: 0)
    guard case .viewChange(let sent)? = out.first?.message else {
      Issue.record("the VIEW-CHANGE for view 3 goes out")
      return
    }
    #expect(sent.certificate.previousValue == CounterValue(high: 2, low: 1))
  }

  @Test("The scheduler's rules select by kind, sender, receiver, view and time")
  func holdRules() {
    let rule = HoldRule(
      kinds: [.newView], senders: [1], receivers: [0], views: 2...3, start: 100, end: 200)
    let newView = ProtocolMessage.newView(
      NewView(view: 2, viewChanges: [], acknowledgments: [], prepares: []))
    #expect(rule.holds(newView, from: 1, to: 0, at: 150))
    #expect(!rule.holds(newView, from: 2, to: 0, at: 150))
    #expect(!rule.holds(newView, from: 1, to: 2, at: 150))
    #expect(!rule.holds(newView, from: 1, to: 0, at: 99))
    #expect(!rule.holds(newView, from: 1, to: 0, at: 200))
    let later = ProtocolMessage.newView(
      NewView(view: 4, viewChanges: [], acknowledgments: [], prepares: []))
    #expect(!rule.holds(later, from: 1, to: 0, at: 150))
    let status = ProtocolMessage.status(StatusMessage(replica: 1, view: 2, nextDelivery: 1))
    #expect(!rule.holds(status, from: 1, to: 0, at: 150))
    var held = HeldMessages(rules: [rule])
    let first = held.hold(newView, from: 1, to: 0, pillar: 0, at: 150)
    let again = held.hold(newView, from: 1, to: 0, pillar: 0, at: 160)  // kept once
    let released = held.release(0)
    #expect(first && again)
    #expect(released.count == 1)
  }

  @Test("The same adaptive seed (twins, hold-back) gives the same run")
  func determinism() {
    let options = SimulationOptions(
      forcedStrategy: .adaptive, pillars: 2, rotateLeaders: true, holdBack: true, twins: true)
    let first = Simulator.run(seed: 11, options: options)
    let second = Simulator.run(seed: 11, options: options)
    #expect(first.traceHash == second.traceHash)
    #expect(first.adversaryMoves == second.adversaryMoves)
    #expect(first.parameters.description == second.parameters.description)
    #expect(first.parameters.description.contains("twins of replica"))
    #expect(first.reproduceCommand.contains("--byzantine adaptive"))
    #expect(first.reproduceCommand.contains("--hold-back"))
    #expect(first.reproduceCommand.contains("--twins"))
  }

  @Test(
    "A small adaptive sweep breaks no invariant, moves, holds and changes views (P = 1, 2, 2 rotating)",
    arguments: [(1, false), (2, false), (2, true)])
  func sweep(pillars: Int, rotate: Bool) async {
    let summary = await SimulationSweep.run(
      from: 1, count: 6,
      options: SimulationOptions(
        forcedStrategy: .adaptive, pillars: pillars, rotateLeaders: rotate))
    for result in summary.violations {
      Issue.record(
        "seed \(result.seed): \(result.violation!)\nreproduce: \(result.reproduceCommand)")
    }
    #expect(summary.adversaryMoves > 0)
    #expect(summary.messagesHeld > 0)
    #expect(summary.runsWithViewChange > 0)
  }
}
