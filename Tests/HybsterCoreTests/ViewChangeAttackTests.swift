import HybsterCore
import Testing
import TrInX

/// The two agreement violations of issue 10, replayed step by step on the pure core
/// (§5.2.3). The Byzantine replica only uses its own TrInX instance, moving its
/// counter forward as TrInX allows; the network only delays (here: withholds)
/// messages. Each scenario runs on the fixed rules and, to show the test can fail,
/// with the weakened rule injected (`InjectedFaults`).
@Suite("View change: attacks on agreement (issue 10)")
struct ViewChangeAttackTests {
  typealias Net = Cluster<CountingService>

  static func configuration(k: UInt64, w: UInt64) -> ProtocolConfiguration {
    let c = ProtocolConfiguration(
      replicaCount: 3, checkpointInterval: k, windowSize: w, maxBatchSize: 1, maxInFlight: 8,
      viewChangeTimeoutTicks: 2)
    try! c.validate()
    return c
  }

  /// Whether the correct replicas `replicas` delivered the same batch at every order
  /// number more than one of them delivered.
  static func agree(_ net: Net, _ replicas: [Int]) -> Bool {
    var seen: [OrderNumber: Digest] = [:]
    for r in replicas {
      for instance in net.delivered[r] {
        if let other = seen[instance.order], other != instance.digest { return false }
        seen[instance.order] = instance.digest
      }
    }
    return true
  }

  static func viewChange(
    _ trinx: inout TrInXInstance, replica: ReplicaID, fromView: View, toView: View,
    checkpoint: StableCheckpoint? = nil, prepares: [Prepare]
  ) throws -> ViewChange {
    let digest = ViewChange.certifiedDigest(
      replica: replica, fromView: fromView, toView: toView, checkpoint: checkpoint,
      prepares: prepares)
    return ViewChange(
      replica: replica, fromView: fromView, toView: toView, checkpoint: checkpoint,
      prepares: prepares,
      certificate: try trinx.certifyContinuing(
        counter: CounterLayout.ordering, newValue: CounterValue(high: toView, low: 0),
        message: digest))
  }

  static func prepare(
    _ trinx: inout TrInXInstance, view: View, order: OrderNumber, batch: Batch
  ) throws -> Prepare {
    Prepare(
      view: view, order: order, batch: batch,
      certificate: try trinx.certifyIndependent(
        counter: CounterLayout.ordering, newValue: CounterValue(high: view, low: order),
        message: Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)))
  }

  /// Attack 1: a PREPARE of a view that was never established displaces a committed
  /// one. R2 (Byzantine) leads view 2: it certifies PREPARE [2|1] for a batch X,
  /// cleans its counter to [3|0] and certifies a VIEW-CHANGE for view 4 that carries
  /// that PREPARE, claiming `fromView` 0 (or 2). The NEW-VIEWs of views 1 and 3 are
  /// delayed, R2 (leader of view 2) is silent, and R2's VIEW-CHANGE for view 4
  /// overtakes R0's at R1, the leader of view 4.
  @Test(
    "attack 1: an unestablished view's PREPARE does not displace a committed one",
    arguments: [(View(0), false), (View(2), false), (View(0), true)])
  func unestablishedPrepare(claimedFromView: View, weakened: Bool) throws {
    let net = Net(Self.configuration(k: 4, w: 8)) { CountingService() }
    if weakened {
      for r in 0..<3 { net.pillars[r].injectedFaults = [.unvouchedPrepares] }
    }
    let client = net.credentials(client: 7)
    let a = client.request(lane: 0, sequence: 1, operation: [0xA])
    let b = client.request(lane: 1, sequence: 1, operation: [0xB])
    net.crashed = [2]  // R2 is scripted by hand below
    // View 0: R0 proposes a at 1; R1 commits and executes it; R1's COMMIT to R0 is
    // lost. NEW-VIEWs of views 1 and 3 are delayed, and R0's VIEW-CHANGE for view 4
    // to R1 too.
    var heldNewViews: [Envelope] = []
    var heldToR1: [Envelope] = []
    net.intercept = { e in
      switch e.message {
      case .commit(let m) where m.view == 0 && e.from == 1 && e.to == 0: return []
      case .newView(let m) where m.view == 1 || m.view == 3:
        heldNewViews.append(e)
        return []
      case .viewChange(let m) where m.toView == 4 && e.from == 0 && e.to == 1:
        heldToR1.append(e)
        return []
      default: return [e]
      }
    }
    net.input(.request(a), at: 0)
    net.run()
    #expect(net.delivered[1].map(\.order) == [1])
    #expect(net.delivered[0].isEmpty)

    // R2's own TrInX history: VIEW-CHANGEs for views 1 and 2 (the others leave
    // views 0 and 1), PREPARE [2|1] for X = [b] in view 2, which it never
    // establishes, a VIEW-CHANGE for view 3 that cleans its counter, and one for
    // view 4 that carries X.
    var r2 = Forge.trinx(2)
    let toView1 = try Self.viewChange(&r2, replica: 2, fromView: 0, toView: 1, prepares: [])
    let toView2 = try Self.viewChange(&r2, replica: 2, fromView: 0, toView: 2, prepares: [])
    let x = try Self.prepare(&r2, view: 2, order: 1, batch: Batch(requests: [b]))
    _ = try Self.viewChange(&r2, replica: 2, fromView: 2, toView: 3, prepares: [x])
    let toView4 = try Self.viewChange(
      &r2, replica: 2, fromView: claimedFromView, toView: 4, prepares: [x])
    for r in [ReplicaID(0), 1] {
      net.input(.message(.viewChange(toView1), from: 2), at: r)
      net.input(.message(.viewChange(toView2), from: 2), at: r)
    }
    func reached(_ r: Int, _ v: View) -> Bool {
      max(net.pillars[r].view, net.pillars[r].targetView ?? 0) >= v
    }
    // Views 1 and 2 fail; R1 installed view 1, but R0 gets its NEW-VIEW only now.
    for _ in 0..<400 where !reached(0, 3) || !reached(1, 3) {
      net.tickAll()
      net.run()
    }
    #expect(reached(0, 3) && reached(1, 3))
    for e in heldNewViews where e.to == 0 { net.input(.message(e.message, from: e.from), at: 0) }
    heldNewViews.removeAll { $0.to == 0 }
    // View 3 fails as well: R1 supports view 4.
    for _ in 0..<400 where net.pillars[1].targetView != 4 {
      net.tickAll()
      net.run()
    }
    #expect(net.pillars[1].targetView == 4)

    // R2's VIEW-CHANGE for view 4 reaches R1 before R0's; then the network heals.
    net.input(.message(.viewChange(toView4), from: 2), at: 1)
    net.input(.message(.viewChange(toView4), from: 2), at: 0)
    net.run()
    net.intercept = { e in
      if case .commit(let m) = e.message, m.view == 0, e.from == 1, e.to == 0 { return [] }
      return [e]
    }
    for e in heldToR1 + heldNewViews { net.input(.message(e.message, from: e.from), at: e.to) }
    net.run()
    for _ in 0..<100 where net.pillars[0].view < 4 || net.delivered[0].isEmpty {
      net.tickAll()
      net.run()
    }
    #expect(net.pillars[1].view >= 4)
    #expect(!net.delivered[0].isEmpty)
    if weakened {
      // The old rule: X at 1 on R0, a at 1 on R1.
      #expect(!Self.agree(net, [0, 1]))
    } else {
      #expect(Self.agree(net, [0, 1]))
      #expect(net.delivered[0].first?.digest == Batch(requests: [a]).digest)
    }
  }

  /// Attack 2: PREPAREs of a view-change certificate must be learned after its
  /// checkpoint moved the window (K = 4, W = 8). R0 and R1 order 1-9 while R2 is cut
  /// off; checkpoint 8 becomes stable. R0 is cut off; R1 (Byzantine from here on)
  /// sends its honest VIEW-CHANGE for view 1 (checkpoint 8, PREPARE [0|9]) and
  /// withholds its NEW-VIEW. R2 learns the certificate; its VIEW-CHANGE for view 2
  /// must carry [0|9], since R1's, cleaned, carries nothing. R2 leads view 2; R1
  /// commits whatever R2 proposes at 9.
  @Test(
    "attack 2: a certificate's PREPAREs above the old window survive its checkpoint",
    arguments: [false, true])
  func learnAfterStabilizing(weakened: Bool) throws {
    let net = Net(Self.configuration(k: 4, w: 8)) { CountingService() }
    if weakened {
      for r in 0..<3 { net.pillars[r].injectedFaults = [.learnBeforeStabilizing] }
    }
    let client = net.credentials(client: 7)
    net.crashed = [2]
    for s in 1...9 {
      net.input(.request(client.request(lane: 0, sequence: UInt64(s), operation: [1])), at: 0)
      net.run()
    }
    #expect(net.executions[0].lastExecuted == 9)
    #expect(net.executions[1].lastExecuted == 9)
    #expect(net.pillars[1].lowWaterMark == 8)
    let at9 = try #require(net.delivered[0].last)
    net.network.removeAll()

    // R0 is cut off; R2 reconnects. R1 leaves view 0 honestly (its last order
    // message was [0|9]) and withholds everything else.
    net.crashed = [0]
    net.input(.leaveView(1, checkpoint: nil), at: 1)
    let fromR1 = net.network.filter { $0.from == 1 && $0.to == 2 }
    net.network.removeAll()
    let vc1 = try #require(
      fromR1.compactMap { if case .viewChange(let m) = $0.message { m } else { nil } }.first)
    #expect(vc1.checkpoint?.order == 8)
    #expect(vc1.prepares.map(\.order) == [9])

    // R2 suspects R0 (a client's request is not executed) and supports view 1.
    let c = client.request(lane: 1, sequence: 1, operation: [0xC])
    net.input(.request(c), at: 2)
    for _ in 0..<64 where net.pillars[2].targetView != 1 { net.input(.tick, at: 2) }
    #expect(net.pillars[2].targetView == 1)
    net.network.removeAll()
    net.input(.message(.viewChange(vc1), from: 1), at: 2)
    #expect(net.pillars[2].lowWaterMark == 8)
    net.network.removeAll()

    // No NEW-VIEW for view 1: R2 supports view 2, which it leads. R1's VIEW-CHANGE
    // for view 2 comes from its cleaned counter [1|0] and carries no PREPARE.
    for _ in 0..<64 where net.pillars[2].targetView != 2 { net.input(.tick, at: 2) }
    #expect(net.pillars[2].targetView == 2)
    var r1 = Forge.trinx(1)
    _ = try r1.certifyIndependent(
      counter: CounterLayout.ordering, newValue: CounterValue(high: 0, low: 9), message: [9])
    _ = try r1.certifyContinuing(
      counter: CounterLayout.ordering, newValue: CounterValue(high: 1, low: 0), message: [1])
    let vc2 = try Self.viewChange(
      &r1, replica: 1, fromView: 0, toView: 2, checkpoint: vc1.checkpoint, prepares: [])
    net.network.removeAll()
    net.input(.message(.viewChange(vc2), from: 1), at: 2)
    #expect(net.pillars[2].view == 2)
    // R2 proposes at 9 (a re-proposal in its NEW-VIEW, or c); R1 commits it.
    let proposal = try #require(
      net.network.flatMap { e -> [Prepare] in
        switch e.message {
        case .prepare(let p): [p]
        case .newView(let m): m.prepares
        default: []
        }
      }.first { $0.order == 9 })
    let commit = Commit(
      view: 2, order: 9, batchDigest: proposal.batch.digest, replica: 1,
      certificate: try r1.certifyIndependent(
        counter: CounterLayout.ordering, newValue: CounterValue(high: 2, low: 9),
        message: Commit.certifiedDigest(view: 2, order: 9, batchDigest: proposal.batch.digest)))
    net.input(.message(.commit(commit), from: 1), at: 2)
    let delivered9 = try #require(net.delivered[2].first { $0.order == 9 })
    if weakened {
      #expect(delivered9.digest != at9.digest)
      #expect(!Self.agree(net, [0, 2]))
    } else {
      #expect(delivered9.digest == at9.digest)
      #expect(Self.agree(net, [0, 1, 2]))
    }
  }

  /// Found by the simulator's adaptive adversary (seed 1901): a replica that
  /// acknowledged a NEW-VIEW for a view it had left learned that view's PREPAREs,
  /// which displaced the committed PREPARE it held, and were then left out of its
  /// VIEW-CHANGE as above its `fromView`: the VIEW-CHANGE carried neither.
  @Test("a NEW-VIEW-ACK does not push a committed PREPARE out of later VIEW-CHANGEs")
  func acknowledgedViewKeepsCommitted() throws {
    let net = Net(Self.configuration(k: 4, w: 8)) { CountingService() }
    let client = net.credentials(client: 7)
    let a = client.request(lane: 0, sequence: 1, operation: [0xA])
    net.input(.request(a), at: 0)
    net.run()
    #expect(net.delivered[0].map(\.order) == [1])
    func viewChanges(from r: ReplicaID, to: ReplicaID? = nil) -> [Envelope] {
      net.network.filter {
        if case .viewChange = $0.message {
          $0.from == r && (to == nil || $0.to == to)
        } else {
          false
        }
      }
    }
    // R1 and R2 leave view 0; R1 leads view 1, but its NEW-VIEW reaches R0 late.
    net.input(.leaveView(1, checkpoint: nil), at: 2)
    net.input(.leaveView(1, checkpoint: nil), at: 1)
    let toView1 = viewChanges(from: 1) + viewChanges(from: 2)
    net.network.removeAll()
    for e in toView1 where e.to == 1 { net.input(.message(e.message, from: e.from), at: 1) }
    let newView1 = try #require(
      net.network.compactMap { e -> NewView? in
        if case .newView(let m) = e.message, e.to == 0 { return m }
        return nil
      }.first)
    #expect(newView1.prepares.map(\.view) == [1])
    net.network.removeAll()
    // R0 and R2 hold the certificate for view 1 and support view 2 (led by R2, which
    // never gets R0's VIEW-CHANGE).
    for e in toView1 where e.to != 1 { net.input(.message(e.message, from: e.from), at: e.to) }
    net.network.removeAll()
    net.input(.leaveView(2, checkpoint: nil), at: 0)
    net.input(.leaveView(2, checkpoint: nil), at: 2)
    #expect(net.pillars[0].targetView == 2)
    #expect(net.pillars[2].targetView == 2)
    let fromR2 = viewChanges(from: 2, to: 0)
    net.network.removeAll()
    // R0 acknowledges view 1, then moves on to view 3 with the certificate for 2.
    net.input(.message(.newView(newView1), from: 1), at: 0)
    #expect(net.network.contains { if case .newViewAck = $0.message { true } else { false } })
    net.network.removeAll()
    for e in fromR2 { net.input(.message(e.message, from: e.from), at: 0) }
    net.network.removeAll()
    net.input(.leaveView(3, checkpoint: nil), at: 0)
    #expect(net.pillars[0].targetView == 3)
    let toView3 = try #require(
      viewChanges(from: 0).compactMap { e -> ViewChange? in
        if case .viewChange(let m) = e.message { return m }
        return nil
      }.first)
    #expect(toView3.fromView == 0)
    #expect(toView3.prepares.map(\.order) == [1])
    #expect(toView3.prepares.first?.batch == Batch(requests: [a]))
  }
}
