import HybsterCore

/// A directed attack (issue 10, item 4): a scripted campaign in which the adaptive
/// adversary's certified messages and the adversarial scheduler's holds line up
/// into one of the attacks on the view change (§5.2.3) that a weakened rule of
/// ``InjectedFaults`` re-opens. Every campaign stays inside the fault model: the
/// Byzantine replica certifies only with its own TrInX instance (through its
/// ``AdversarySigner``), and the scheduler only delays messages until the network
/// heals. Against the fixed rules a campaign must produce no violation.
public enum AttackCampaignKind: String, CaseIterable, Sendable, Hashable, Comparable {
  /// Attack 1 of issue 10: a PREPARE of a view the Byzantine replica leads but never
  /// establishes, carried by a VIEW-CHANGE with `fromView` 0 for a later view, reaches
  /// that view's leader first while the NEW-VIEWs of the views in between are held.
  case unestablishedPrepare
  /// Attack 2 of issue 10: a replica cut off from ordering and checkpoints learns a
  /// view-change certificate whose checkpoint moves its window past a PREPARE above
  /// its old window, then leads the next view with the Byzantine replica alone.
  case lateWindow
  /// A VIEW-CHANGE whose continuing certificate shows order messages of its
  /// `fromView` but carries none of their PREPAREs, sent to a replica that never saw
  /// them; that replica then leads (or follows the Byzantine replica) with it alone.
  case hiddenPrepares
  /// The delivering replica leads view 1 and commits new instances there with the
  /// Byzantine replica, unseen by the lagging one; the Byzantine VIEW-CHANGE for
  /// view 2 claims view 1, which no correct replica vouches for to the lagging
  /// replica, so it is no certificate; a lagging replica that moves on to view 3
  /// without one (with the Byzantine replica's empty VIEW-CHANGE for 3) loses them.
  case skipAhead

  /// The weakened rule this campaign is meant to catch.
  public var catches: InjectedFaults {
    switch self {
    case .unestablishedPrepare: .unvouchedPrepares
    case .lateWindow: .learnBeforeStabilizing
    case .hiddenPrepares: .acceptHidingViewChange
    case .skipAhead: .moveOnWithoutCertificate
    }
  }

  /// The campaign that targets `fault`, if one does.
  public static func targeting(_ fault: InjectedFaults) -> AttackCampaignKind? {
    allCases.first { $0.catches == fault }
  }

  /// The replicas (n = 3) the Byzantine replica may be: the lagging replica must
  /// lead view 2 in ``lateWindow``.
  /// In ``skipAhead`` the delivering replica leads view 1 and the Byzantine one view 0
  /// (so that view 0 leaves room in the window for new instances in view 1).
  var byzantineCandidates: [ReplicaID] {
    switch self {
    case .lateWindow: [0, 1]
    case .skipAhead: [0]
    default: [0, 1, 2]
    }
  }

  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Who plays which part in a campaign (n = 3, one pillar, f = 1): the Byzantine
/// replica, the correct replica that delivers the instance the attack tries to undo
/// (the leader of view 0 unless that is the Byzantine replica), and the correct
/// replica kept from seeing it.
public struct CampaignPlan: Sendable, Hashable, CustomStringConvertible {
  /// The attack.
  public var kind: AttackCampaignKind
  /// The Byzantine replica.
  public var byzantine: ReplicaID
  /// The correct replica that delivers the early instances.
  public var delivering: ReplicaID
  /// The correct replica that never sees them.
  public var lagging: ReplicaID

  /// Draws the parts for `kind` from `random` (the Byzantine replica too, unless
  /// given).
  static func draw(
    _ kind: AttackCampaignKind, byzantine given: ReplicaID? = nil,
    _ random: inout SimulationRandom
  ) -> CampaignPlan {
    let byzantine = given ?? random.pick(kind.byzantineCandidates)
    if kind == .skipAhead {
      return CampaignPlan(kind: kind, byzantine: byzantine, delivering: 1, lagging: 2 - byzantine)
    }
    if byzantine != 0 {
      return CampaignPlan(kind: kind, byzantine: byzantine, delivering: 0, lagging: 3 - byzantine)
    }
    let lagging: ReplicaID = kind == .lateWindow ? 2 : random.pick([1, 2])
    return CampaignPlan(kind: kind, byzantine: 0, delivering: 3 - lagging, lagging: lagging)
  }

  public var description: String {
    "\(kind.rawValue): byzantine \(byzantine), delivering \(delivering), lagging \(lagging)"
  }
}

/// What a campaign sees of the correct replicas on each tick (the scheduler sees
/// every message, so it may as well see where they stand).
struct CampaignWorld: Sendable {
  var view: [View] = []
  var target: [View?] = []
  var executed: [OrderNumber] = []

  /// The highest view `r` installed or supports.
  func reached(_ r: ReplicaID) -> View {
    guard Int(r) < view.count else { return 0 }
    return max(view[Int(r)], target[Int(r)] ?? 0)
  }
}

/// A running campaign: its phase, the scheduler's holds, and what it certified.
struct AttackCampaign: Sendable {
  enum Phase: Sendable {
    /// Ordering in view 0 with the lagging replica cut off from it.
    case setup
    /// The Byzantine replica's real pillar is muted; the script runs.
    case attack
    /// The network healed: holds released, the real pillar speaks again.
    case over
  }

  let plan: CampaignPlan
  let configuration: ProtocolConfiguration
  var phase = Phase.setup
  var world = CampaignWorld()
  /// The view the attack culminates in (its NEW-VIEW decides the order number).
  var target: View?
  /// The Byzantine replica's VIEW-CHANGEs of the script, resent until they land.
  var viewChanges: [ViewChange] = []
  /// The NEW-VIEW (and the PREPARE after it) the Byzantine replica sends as leader of
  /// ``target``.
  var leading: [ProtocolMessage] = []
  var ledView = false
  /// The lagging replica's VIEW-CHANGEs, by target view (seen on the wire).
  var laggingViewChanges: [View: ViewChange] = [:]
  /// The view whose correct leader's PREPAREs the Byzantine replica COMMITs.
  var commitView: View?
  /// For ``AttackCampaignKind/skipAhead``: whether the VIEW-CHANGEs for views 2 and
  /// 3 were certified.
  var struckTwice = false
  /// PREPAREs of ``commitView`` by its correct leader, to COMMIT (by order).
  var toCommit: [OrderNumber: Prepare] = [:]
  var committedThrough: OrderNumber = 0
  /// Messages the scheduler holds for the campaign.
  var held: [HeldMessages.Held] = []
  /// Messages held so far (for the run's summary).
  var heldCount = 0
  var ticks = 0

  init(plan: CampaignPlan, configuration: ProtocolConfiguration) {
    self.plan = plan
    self.configuration = configuration
  }

  var byzantine: ReplicaID { plan.byzantine }
  var delivering: ReplicaID { plan.delivering }
  var lagging: ReplicaID { plan.lagging }

  func leader(_ view: View) -> ReplicaID { configuration.leader(of: view, pillar: 0) }

  // MARK: - The scheduler

  /// Whether the scheduler holds a correct replica's `message` (see the campaign
  /// kinds for what each holds).
  func holds(_ message: ProtocolMessage, from: ReplicaID, to: ReplicaID) -> Bool {
    guard phase != .over, from != byzantine else { return false }
    let kind = MessageKind(message)
    // The lagging replica learns of no checkpoint on its own.
    if to == lagging, kind == .checkpoint { return true }
    switch plan.kind {
    case .unestablishedPrepare:
      if to == lagging, kind == .prepare || kind == .commit, message.adversaryView == 0 {
        return true
      }
      // The views before the target fail: their NEW-VIEWs are held from each replica
      // until it moved past them (then it acknowledges them, which vouches for them);
      // the one just before the target until the network heals.
      if kind == .newView, let view = message.adversaryView, view >= 1, view < (target ?? .max) {
        return view + 1 == target || world.reached(to) <= view
      }
      // The target's leader hears the Byzantine VIEW-CHANGE for it first.
      if let target, kind == .viewChange, message.adversaryView == target, to == leader(target),
        Int(to) < world.view.count, world.view[Int(to)] < target
      {
        return true
      }
      return false
    case .lateWindow:
      if to == lagging, from == delivering, phase == .attack { return true }
      return to == lagging && (kind == .prepare || kind == .commit)
    case .hiddenPrepares, .skipAhead:
      return to == lagging && from == delivering
    }
  }

  /// Holds `message` if the campaign says so; returns whether it did.
  mutating func hold(_ message: ProtocolMessage, from: ReplicaID, to: ReplicaID, pillar: Int)
    -> Bool
  {
    guard holds(message, from: from, to: to) else { return false }
    let item = HeldMessages.Held(from: from, to: to, message: message, pillar: pillar)
    if !held.contains(item) {
      held.append(item)
      heldCount += 1
    }
    return true
  }

  /// Takes the held messages the campaign no longer holds (all once it is over).
  mutating func releasable() -> [HeldMessages.Held] {
    var out: [HeldMessages.Held] = []
    var kept: [HeldMessages.Held] = []
    for item in held {
      if holds(item.message, from: item.from, to: item.to) {
        kept.append(item)
      } else {
        out.append(item)
      }
    }
    held = kept
    return out
  }

  // MARK: - The Byzantine replica's real pillar

  /// Whether the real pillar may send `message` to `to` (decided before the signer
  /// certifies it, so that the script alone moves the ordering counter): in the
  /// setup, ordering and (for ``AttackCampaignKind/lateWindow``) checkpoints with
  /// the delivering replica only, no view-change messages; muted in the attack.
  func allowsOwn(_ message: ProtocolMessage, to: ReplicaID) -> Bool {
    switch phase {
    case .over: return true
    case .attack: return false
    case .setup:
      switch MessageKind(message) {
      case .viewChange, .newView, .newViewAck: return false
      case .checkpoint: return plan.kind == .lateWindow && to != lagging
      case .prepare, .commit: return to != lagging
      case .status, .forwardedRequest: return true
      }
    }
  }

  /// Records what the campaign needs from a message that reached the Byzantine
  /// replica (before any validity check: `isValid` decides about PREPAREs).
  mutating func observe(
    _ message: ProtocolMessage, from: ReplicaID, isValid: (Prepare) -> Bool
  ) {
    guard phase == .attack else { return }
    switch message {
    case .viewChange(let viewChange) where viewChange.replica == lagging:
      laggingViewChanges[viewChange.toView] = viewChange
    case .prepare(let prepare):
      noteToCommit(prepare, from: from, isValid: isValid)
    case .newView(let newView):
      for prepare in newView.prepares { noteToCommit(prepare, from: from, isValid: isValid) }
    default: break
    }
  }

  mutating func noteToCommit(_ prepare: Prepare, from: ReplicaID, isValid: (Prepare) -> Bool) {
    guard let commitView, prepare.view == commitView, from == leader(commitView),
      from != byzantine, prepare.order > committedThrough, isValid(prepare)
    else { return }
    toCommit[prepare.order] = prepare
  }
}

extension SimulationRun {
  /// Where the replicas stand, for a campaign's script.
  func campaignWorld() -> CampaignWorld {
    CampaignWorld(
      view: replicas.map(\.ordering.view), target: replicas.map(\.ordering.pillars[0].targetView),
      executed: replicas.map(\.execution.lastExecuted))
  }
}
