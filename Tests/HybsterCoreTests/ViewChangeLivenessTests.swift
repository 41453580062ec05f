import HybsterCore
import Testing
import TrInX

/// Liveness rules of the view change found by the simulator's adversary (issue 10):
/// a correct replica never leaves the others unable to complete a certificate it
/// could help them complete (§5.2.3, §5.3.3).
@Suite("View change: liveness under an adversary (issue 10)")
struct ViewChangeLivenessTests {
  static let configuration = ViewChangeRuleTests.configuration()

  /// Seed 500_399 (`--byzantine adaptive --pillars 2 --rotate`): one pillar of a
  /// replica held a certificate its sibling lacked and skipped a view the sibling
  /// supported. That replica's VIEW-CHANGE for the skipped view never had all its
  /// parts, so replicas still changing to it could never use it.
  @Test("a pillar that skips views supports each of them (a VIEW-CHANGE needs every part)")
  func skippedViewsAreSupported() {
    var r0 = Keys.pillar(Self.configuration, replica: 0)
    _ = r0.handle(.leaveView(1, checkpoint: nil))
    // R1 and R2 support view 2 already: R0 learns their certificate for it.
    for r: ReplicaID in [1, 2] {
      let vc = ViewChangeRuleTests.viewChange(
        replica: r, to: 2, previous: CounterValue(high: 1, low: 0))
      #expect(
        ViewChangeRuleTests.viewChanges(r0.handle(.message(.viewChange(vc), from: r))).isEmpty)
    }
    #expect(r0.targetView == 1)
    // Its siblings ask for view 3: with the certificate for 2 it may support 3, and
    // it supports 2 on the way, from the same fromView, its counter moving up.
    let sent = ViewChangeRuleTests.viewChanges(r0.handle(.leaveView(3, checkpoint: nil)))
    #expect(sent.map(\.toView) == [2, 3])
    #expect(sent.allSatisfy { $0.fromView == 0 && $0.replica == 0 })
    #expect(
      sent.map(\.certificate.previousValue) == [
        CounterValue(high: 1, low: 0), CounterValue(high: 2, low: 0),
      ])
    #expect(r0.targetView == 3)
  }

  /// Seed 203_859 (`--byzantine corruptViewChange --byzantine-max`): a faulty leader
  /// sent its NEW-VIEW to one correct replica, which acknowledged it and learned a
  /// certificate with that view as base; later certificates need f+1 vouchers for
  /// it, and the other correct replica could never acknowledge a NEW-VIEW it never
  /// got.
  @Test("a replica resends the NEW-VIEW it acknowledged, so that the others can vouch for it")
  func acknowledgedNewViewIsRelayed() throws {
    let net = Cluster<CountingService>(Self.configuration) { CountingService() }
    // R1 and R2 leave view 0; R1 leads view 1, its NEW-VIEW is withheld.
    net.input(.leaveView(1, checkpoint: nil), at: 2)
    net.input(.leaveView(1, checkpoint: nil), at: 1)
    let toView1 = net.network.filter {
      if case .viewChange = $0.message { true } else { false }
    }
    net.network.removeAll()
    for e in toView1 where e.to == 1 { net.input(.message(e.message, from: e.from), at: 1) }
    let newView1 = try #require(
      net.network.compactMap { e -> NewView? in
        if case .newView(let m) = e.message { m } else { nil }
      }.first)
    net.network.removeAll()
    // R0 and R2 hold the certificate for view 1 and support view 2.
    for e in toView1 where e.to != 1 { net.input(.message(e.message, from: e.from), at: e.to) }
    net.input(.leaveView(2, checkpoint: nil), at: 0)
    net.input(.leaveView(2, checkpoint: nil), at: 2)
    #expect(net.pillars[0].targetView == 2 && net.pillars[2].targetView == 2)
    net.network.removeAll()
    // Only R0 gets the NEW-VIEW of view 1: it acknowledges it.
    net.input(.message(.newView(newView1), from: 1), at: 0)
    net.network.removeAll()
    // While it changes views, R0 resends it with its NEW-VIEW-ACK; R2 acknowledges
    // it too.
    for _ in 0..<4 { net.input(.tick, at: 0) }
    let relayed = net.network.filter {
      if case .newView(let m) = $0.message { $0.to == 2 && m.view == 1 } else { false }
    }
    #expect(!relayed.isEmpty)
    net.network.removeAll()
    for e in relayed { net.input(.message(e.message, from: e.from), at: 2) }
    #expect(
      net.network.contains {
        if case .newViewAck(let ack) = $0.message {
          ack.replica == 2 && ack.view == 1
        } else {
          false
        }
      })
  }
}
