import HybsterCore
import Testing
import TrInX

/// The rules of the view change (§5.2.3), each on the pure core.
@Suite("View change rules (§5.2.3)")
struct ViewChangeRuleTests {
  static func configuration(n: Int = 3) -> ProtocolConfiguration {
    let c = ProtocolConfiguration(
      replicaCount: n, checkpointInterval: 4, windowSize: 8, maxBatchSize: 1, maxInFlight: 8,
      viewChangeTimeoutTicks: 2)
    try! c.validate()
    return c
  }

  static func viewChanges(_ actions: [PillarAction]) -> [ViewChange] {
    actions.compactMap {
      if case .broadcast(.viewChange(let m)) = $0 { m } else { nil }
    }
  }

  /// A VIEW-CHANGE made with replica `r`'s own TrInX instance moved to `previous`.
  static func viewChange(
    replica: ReplicaID, from: View = 0, to: View, previous: CounterValue,
    prepares: [Prepare] = []
  ) -> ViewChange {
    var trinx = Forge.trinx(TrInXInstanceID(replica))
    if previous > .zero {
      _ = try! trinx.certifyIndependent(
        counter: CounterLayout.ordering, newValue: previous, message: [0])
    }
    let digest = ViewChange.certifiedDigest(
      replica: replica, fromView: from, toView: to, checkpoint: nil, prepares: prepares)
    let certificate = try! trinx.certifyContinuing(
      counter: CounterLayout.ordering, newValue: CounterValue(high: to, low: 0), message: digest)
    return ViewChange(
      replica: replica, fromView: from, toView: to, checkpoint: nil, prepares: prepares,
      certificate: certificate)
  }

  @Test("a follower with a request not executed in time suspects the leader")
  func suspicion() {
    var follower = Keys.pillar(Self.configuration(), replica: 1)
    let request = Keys.credentials(client: 1, replicas: 3).request(
      lane: 0, sequence: 1, operation: [1])
    _ = follower.handle(.request(request))
    var started: [ViewChange] = []
    for _ in 0..<10 where started.isEmpty { started = Self.viewChanges(follower.handle(.tick)) }
    let vc = try! #require(started.first)
    #expect(vc.toView == 1 && vc.fromView == 0)
    #expect(vc.certificate.previousValue == .zero)
    #expect(vc.certificate.newValue == CounterValue(high: 1, low: 0))
    #expect(follower.isChangingView && follower.targetView == 1)
    // Without outstanding work nothing is suspected.
    var idle = Keys.pillar(Self.configuration(), replica: 2)
    for _ in 0..<50 { #expect(Self.viewChanges(idle.handle(.tick)).isEmpty) }
  }

  @Test("a VIEW-CHANGE that hides PREPAREs its counter reveals is rejected")
  func hiddenPrepares() {
    var pillar = Keys.pillar(Self.configuration(), replica: 0)
    // Replica 1 sent order messages up to [0|2] but includes no PREPARE.
    let cleaned = Self.viewChange(replica: 1, to: 1, previous: CounterValue(high: 0, low: 2))
    let actions = pillar.handle(.message(.viewChange(cleaned), from: 1))
    #expect(actions.rejections == [.invalidCertificate(message: "VIEW-CHANGE", sender: 1)])
    #expect(pillar.heldViewChanges == 0)
    // With both PREPAREs it is valid.
    let batch = Batch(requests: [])
    let prepares = [1, 2].map { Forge.prepare(order: OrderNumber($0), batch: batch) }
    let honest = Self.viewChange(
      replica: 1, to: 1, previous: CounterValue(high: 0, low: 2), prepares: prepares)
    #expect(pillar.handle(.message(.viewChange(honest), from: 1)).rejections.isEmpty)
    #expect(pillar.heldViewChanges == 1)
  }

  @Test("a VIEW-CHANGE with a forged or wrong-kind certificate is rejected")
  func forgedViewChange() {
    var pillar = Keys.pillar(Self.configuration(), replica: 0)
    var wrongIssuer = Self.viewChange(replica: 1, to: 1, previous: .zero)
    wrongIssuer.replica = 2  // claims another replica's VIEW-CHANGE
    var flipped = Self.viewChange(replica: 1, to: 1, previous: .zero)
    flipped.certificate = Forge.flipped(flipped.certificate)
    var lyingFrom = Self.viewChange(replica: 1, to: 1, previous: .zero)
    lyingFrom.fromView = 0
    lyingFrom.toView = 2  // certificate is for [1|0]
    for forged in [wrongIssuer, flipped, lyingFrom] {
      #expect(pillar.handle(.message(.viewChange(forged), from: 1)).rejections.count == 1)
    }
    #expect(pillar.heldViewChanges == 0)
  }

  @Test("f+1 VIEW-CHANGEs for the next view make a replica join; the new leader sends NEW-VIEW")
  func joinAndNewView() {
    var leaderOf1 = Keys.pillar(Self.configuration(), replica: 1)
    // n = 3, f+1 = 2: one other replica alone (perhaps faulty) does not move it.
    let vc2 = Self.viewChange(replica: 2, to: 1, previous: .zero)
    #expect(Self.viewChanges(leaderOf1.handle(.message(.viewChange(vc2), from: 2))).isEmpty)
    #expect(!leaderOf1.isChangingView)
    let vc0 = Self.viewChange(replica: 0, to: 1, previous: .zero)
    let actions = leaderOf1.handle(.message(.viewChange(vc0), from: 0))
    #expect(Self.viewChanges(actions).map(\.replica) == [1])
    let newViews = actions.compactMap {
      if case .broadcast(.newView(let m)) = $0 { m } else { nil }
    }
    #expect(newViews.map(\.view) == [1])
    #expect(leaderOf1.view == 1 && !leaderOf1.isChangingView && leaderOf1.isLeader)
    // A follower accepts the NEW-VIEW; a tampered one is rejected.
    var follower = Keys.pillar(Self.configuration(), replica: 0)
    var tampered = newViews[0]
    tampered.viewChanges = [tampered.viewChanges[0]]  // fewer than q
    #expect(
      follower.handle(.message(.newView(tampered), from: 1)).rejections == [
        .invalidCertificate(message: "NEW-VIEW", sender: 1)
      ])
    #expect(follower.view == 0)
    _ = follower.handle(.message(.newView(newViews[0]), from: 1))
    #expect(follower.view == 1)
  }

  @Test("a NEW-VIEW whose PREPAREs differ from what its certificate implies is rejected")
  func newViewMustMatchPlan() {
    var leaderOf1 = Keys.pillar(Self.configuration(), replica: 1)
    let batch = Batch(requests: [])
    let prepare = Forge.prepare(order: 1, batch: batch)
    let vc2 = Self.viewChange(
      replica: 2, to: 1, previous: CounterValue(high: 0, low: 1), prepares: [prepare])
    _ = leaderOf1.handle(.message(.viewChange(vc2), from: 2))
    let vc0 = Self.viewChange(replica: 0, to: 1, previous: .zero)
    let actions = leaderOf1.handle(.message(.viewChange(vc0), from: 0))
    let newView = try! #require(
      actions.compactMap { if case .broadcast(.newView(let m)) = $0 { m } else { nil } }.first)
    #expect(newView.prepares.map(\.order) == [1])
    var dropped = newView
    dropped.prepares = []  // a new leader that "forgets" order 1
    var follower = Keys.pillar(Self.configuration(), replica: 0)
    #expect(follower.handle(.message(.newView(dropped), from: 1)).rejections.count == 1)
    #expect(follower.view == 0)
  }

  @Test("however many views fail in a row, view-change state stays bounded")
  func boundedAcrossFailedViews() {
    // Five replicas; replica 0 keeps changing views with VIEW-CHANGEs from everyone
    // but the leaders, who never send a NEW-VIEW (replica 0 installs its own views).
    let configuration = Self.configuration(n: 5)
    var pillar = Keys.pillar(configuration, replica: 0)
    var counters: [ReplicaID: TrInXInstance] = [:]
    for r: ReplicaID in 1...4 { counters[r] = Forge.trinx(TrInXInstanceID(r)) }
    var maxHeld = 0
    for view: View in 1...60 {
      for r: ReplicaID in 1...4 where configuration.leader(of: view) != r {
        let digest = ViewChange.certifiedDigest(
          replica: r, fromView: 0, toView: view, checkpoint: nil, prepares: [])
        let certificate = try! counters[r]!.certifyContinuing(
          counter: CounterLayout.ordering, newValue: CounterValue(high: view, low: 0),
          message: digest)
        let vc = ViewChange(
          replica: r, fromView: 0, toView: view, checkpoint: nil, prepares: [],
          certificate: certificate)
        _ = pillar.handle(.message(.viewChange(vc), from: r))
      }
      for _ in 0..<200 where pillar.targetView == view { _ = pillar.handle(.tick) }
      maxHeld = max(maxHeld, pillar.heldViewChanges)
    }
    #expect((pillar.targetView ?? pillar.view) > 50)
    #expect(maxHeld <= 4 * configuration.replicaCount)
    #expect(pillar.logSize <= Int(configuration.windowSize))
  }
}
