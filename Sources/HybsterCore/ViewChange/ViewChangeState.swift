/// What a pillar keeps for the view change (§5.2.3). Every collection is bounded:
/// VIEW-CHANGEs only for the view supported now, the two before (their
/// certificates, relayed to replicas still changing to them) and the next one (n
/// each), and its own for the views before those that it may have skipped,
/// NEW-VIEW-ACKs one per replica, learned PREPAREs one per order number of the
/// window, awaited requests a fixed number. However many views fail in a row, no
/// list grows (§4.4 is why Hybster exists).
struct ViewChangeState: Sendable {
  /// The view this replica supports while it changes views; `nil` in normal operation.
  var target: View?
  /// The last view accepted with a valid NEW-VIEW (0 initially).
  var acceptedView: View = 0
  /// The highest view this replica vouches for, the `fromView` of its VIEW-CHANGEs:
  /// the accepted view, or the base of a view-change certificate it learned from
  /// (f+1 replicas vouched for it). Every PREPARE this replica propagates is of a
  /// view up to it (docs/view-change-safety.md).
  var vouchedView: View = 0
  /// The views this replica holds a view-change certificate for (q VIEW-CHANGEs that
  /// form a valid new-view certificate), with the base it learned from each. Only
  /// such a certificate lets a replica support the view after it (§5.2.3).
  var certified: [View: View] = [:]
  /// VIEW-CHANGEs by view and sender.
  var viewChanges: [View: [ReplicaID: ViewChange]] = [:]
  /// Each replica's NEW-VIEW-ACKs of its highest few views (a later leader's
  /// new-view certificate may need one for an older view than the replica's last:
  /// several views can fail in a row, each claimed by a different VIEW-CHANGE).
  private(set) var acknowledgments: [ReplicaID: [NewViewAck]] = [:]
  /// PREPAREs learned from view-change certificates and NEW-VIEWs, by order number
  /// (the highest view wins; every one of a view up to ``vouchedView``), to be
  /// propagated in later VIEW-CHANGEs.
  var learned: [OrderNumber: Prepare] = [:]
  /// The NEW-VIEW that installed the current view (resent to lagging replicas).
  var installed: NewView?
  /// The NEW-VIEWs of this replica's own NEW-VIEW-ACKs (the same few views): resent
  /// with them, so that the other correct replicas can acknowledge them too. A
  /// faulty leader may have sent its NEW-VIEW to this replica alone, and a later
  /// new-view certificate whose base is that view needs f+1 vouchers.
  private(set) var acknowledgedNewViews: [NewView] = []
  /// Verified requests a client sent to this replica that wait for execution: the
  /// leader is suspected if they are not executed in time, and after a view change
  /// they go to the new leader at once instead of waiting for the client to retry.
  var awaited: [RequestRef: (request: Request, since: UInt64)] = [:]
  /// The operation bytes held in `awaited`.
  var awaitedBytes = 0
  /// How long awaited requests take to execute, in ticks: an awaited request is
  /// overdue after a few usual delays (at least ``awaitedTicksMinimum``, at most the
  /// view-change timeout), not after a fixed timeout (issue 12: failover in under a
  /// second, a loaded leader not suspected).
  var awaitedDelay: AdaptiveTimeout?
  /// The tick the current view was installed: for a view-change timeout after it,
  /// awaited requests get the whole timeout (the new leader has the requests handed
  /// over to it to order, and a Byzantine replica must not get correct leaders
  /// suspected one after another on short timeouts).
  var installedAtTick: UInt64 = 0
  /// The tick the leader's last PREPARE of the current view came from the leader
  /// itself: a leader heard from lately is alive, and a request it has not ordered
  /// yet may be waiting in its queue (issue 12: a loaded leader is not suspected).
  var leaderHeardAtTick: UInt64 = 0
  /// The shortest wait for an awaited request, in ticks (200 ms with 50 ms ticks).
  static let awaitedTicksMinimum: UInt64 = 4
  /// Consecutive ticks without progress while work was outstanding.
  var stalledTicks: UInt64 = 0
  /// Ticks spent supporting `target`.
  var ticksInChange: UInt64 = 0
  /// View changes in a row without a NEW-VIEW (the timeout doubles each time).
  var failedAttempts: Int = 0
  /// With several pillars (§5.3.3): the view this pillar told the coordinator it
  /// could lead, and the view the coordinator let every pillar lead (a leader's
  /// pillars send their NEW-VIEW parts together, or none does).
  var readyReported: View = 0
  var leadApproved: View = 0
  /// With rotating leaders: this pillar's NEW-VIEW part of a view with several
  /// leaders that it sent but has not installed (resent while changing views, so
  /// that replicas that left that view can acknowledge it).
  var sentNewViewPart: NewView?

  /// Drops the VIEW-CHANGEs of views no longer needed once `own` supports `target`:
  /// every one of the two views before it (their certificates are relayed), and
  /// `own`'s of the views before those that it may have skipped (up to
  /// ``ViewChangeGate/viewsAhead`` back): a replica still changing to such a view can
  /// complete `own`'s message only with it.
  mutating func keepViewChanges(near target: View, own: ReplicaID) {
    var kept: [View: [ReplicaID: ViewChange]] = [:]
    for (view, byReplica) in viewChanges {
      if view + 2 >= target {
        kept[view] = byReplica
      } else if view + ViewChangeGate.viewsAhead >= target, let mine = byReplica[own] {
        kept[view] = [own: mine]
      }
    }
    viewChanges = kept
  }

  /// How many NEW-VIEW-ACKs are kept per replica.
  static let acknowledgmentsPerReplica = 3

  /// Whether `replica`'s NEW-VIEW-ACK for `view` is held.
  func hasAcknowledgment(of replica: ReplicaID, view: View) -> Bool {
    acknowledgments[replica]?.contains { $0.view == view } ?? false
  }

  /// Holds a verified NEW-VIEW-ACK, keeping each replica's highest few views.
  mutating func record(_ ack: NewViewAck) {
    var held = acknowledgments[ack.replica] ?? []
    guard !held.contains(where: { $0.view == ack.view }) else { return }
    held.append(ack)
    held.sort { $0.view > $1.view }
    if held.count > Self.acknowledgmentsPerReplica { held.removeLast() }
    acknowledgments[ack.replica] = held
  }

  /// Keeps the NEW-VIEW this replica acknowledged, for the views of its own held
  /// NEW-VIEW-ACKs.
  mutating func keepAcknowledged(_ newView: NewView, by replica: ReplicaID) {
    let views = Set((acknowledgments[replica] ?? []).map(\.view))
    acknowledgedNewViews = (acknowledgedNewViews + [newView]).filter { views.contains($0.view) }
  }

  /// The NEW-VIEW-ACKs held for `view`, by replica.
  func acknowledgments(for view: View) -> [NewViewAck] {
    acknowledgments.values.compactMap { held in held.first { $0.view == view } }
      .sorted { $0.replica < $1.replica }
  }

  /// The most requests remembered as awaited, and their most operation bytes.
  static let awaitedLimit = 4096
  static let awaitedByteLimit = 16 << 20
}
