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

  /// Seed 300_006_403 (`--byzantine adaptive --byzantine-max --pillars 3 --rotate`):
  /// a pillar that skipped ahead (its siblings' certificates let it) dropped its own
  /// VIEW-CHANGE for a view it skipped; a correct replica still changing to that
  /// view could complete no certificate for it, and no one else could provide it.
  @Test("a pillar keeps resending its own VIEW-CHANGEs for the views it skipped")
  func ownViewChangesForSkippedViewsAreResent() {
    var r2 = Keys.pillar(Self.configuration, replica: 2)
    _ = r2.handle(.leaveView(1, checkpoint: nil))
    // R0 and R1 provide the certificates for views 2 and 3; R2 moves on to view 4.
    for (view, next) in [(View(2), View(3)), (View(3), View(4))] {
      for r: ReplicaID in [0, 1] {
        let vc = ViewChangeRuleTests.viewChange(
          replica: r, to: view, previous: CounterValue(high: view - 1, low: 0))
        _ = r2.handle(.message(.viewChange(vc), from: r))
      }
      _ = r2.handle(.leaveView(next, checkpoint: nil))
    }
    #expect(r2.targetView == 4)
    // Its VIEW-CHANGE for view 1, which no one certified, keeps going out.
    var resent: [ViewChange] = []
    for _ in 0..<4 { resent += ViewChangeRuleTests.viewChanges(r2.handle(.tick)) }
    #expect(resent.contains { $0.replica == 2 && $0.toView == 1 })
  }

  /// Seed 300_006_507 (same options): R2 delivered an instance of view 1 with the
  /// leader R1's PREPARE and its own COMMIT, which R1 never got; R2 then installed
  /// view 2, whose NEW-VIEW re-proposed the instance, while R1 had moved on to view 3
  /// and could COMMIT nothing in view 2. With the third replica silent, only R2's
  /// view-1 COMMIT could complete the instance at R1, and R2 had dropped it.
  @Test("a replica keeps the COMMITs that completed an instance a later NEW-VIEW re-proposed")
  func earlierCommitIsResent() {
    let net = Cluster<CountingService>(Self.configuration) { CountingService() }
    let client = net.credentials(client: 7)
    net.crashed = [0]  // silent, as a faulty replica may be
    // View 1 (leader R1): R1 proposes a; R2 commits and delivers it; R2's COMMIT to R1
    // is lost.
    net.input(.leaveView(1, checkpoint: nil), at: 1)
    net.input(.leaveView(1, checkpoint: nil), at: 2)
    net.run()
    #expect(net.pillars[1].view == 1 && net.pillars[2].view == 1)
    net.intercept = { e in
      if case .commit = e.message, e.to == 1 { return [] }
      return [e]
    }
    net.input(.request(client.request(lane: 0, sequence: 1, operation: [0xA])), at: 1)
    net.run()
    net.intercept = nil
    #expect(net.delivered[2].map(\.order) == [1])
    #expect(net.delivered[1].isEmpty)
    // Both leave view 1. R1 learns the certificate for view 2 and moves on to view 3;
    // R2, the leader of view 2, installs it with R1's VIEW-CHANGE, re-proposing the
    // instance. R1 only acknowledges view 2: its counter is in view 3.
    net.input(.leaveView(2, checkpoint: nil), at: 2)
    let fromR2 = net.network
    net.network.removeAll()
    net.input(.leaveView(2, checkpoint: nil), at: 1)
    let fromR1 = net.network
    net.network.removeAll()
    for e in fromR2 { net.input(.message(e.message, from: e.from), at: e.to) }
    net.input(.leaveView(3, checkpoint: nil), at: 1)
    #expect(net.pillars[1].targetView == 3)
    net.network.removeAll()
    for e in fromR1 { net.input(.message(e.message, from: e.from), at: e.to) }
    #expect(net.pillars[2].view == 2)
    net.network.removeAll()
    // R1 asks with a STATUS of view 1: R2 answers with the view-1 COMMIT that
    // completed the instance, and R1 delivers it.
    net.input(
      .message(.status(StatusMessage(replica: 1, view: 1, nextDelivery: 1)), from: 1), at: 2)
    net.network = net.network.filter { if case .newView = $0.message { false } else { true } }
    net.run()
    #expect(net.delivered[1].map(\.order) == [1])
    #expect(net.delivered[1].map(\.digest) == net.delivered[2].map(\.digest))
  }
}
