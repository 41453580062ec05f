import HybsterCore

/// Counterexamples the explorer keeps (issue 10): each reaches an agreement
/// violation with its deliberate bug injected (the "old code") and must reach none
/// without it. ``prefix`` steps lead to the state from which the exhaustive search
/// of ``searchBounds`` must find the violation by itself.
public struct RegressionTrace: Sendable {
  /// A short name (`hybster explore --regression NAME`).
  public var name: String
  /// What it shows.
  public var summary: String
  /// The configuration and the bug injected.
  public var bounds: ExplorerBounds
  /// The steps.
  public var steps: [ExplorerStep]
  /// How many steps lead to the state the search starts from.
  public var prefix: Int
  /// The bounds of the search from there.
  public var searchBounds: ExplorerBounds

  /// Every kept trace.
  public static let all: [RegressionTrace] = [unvouchedPrepare, learnBeforeStabilizing]

  /// The trace called `name`.
  public static func named(_ name: String) -> RegressionTrace? {
    all.first { $0.name == name }
  }

  /// Attack 1 of issue 10 (§5.2.3): a PREPARE of a view that was never established
  /// displaces a committed one. R2 is Byzantine. R1 commits and executes request 0
  /// at order 1 in view 0; R0 never learns it committed. R2, leader of view 2,
  /// certifies PREPARE [2|1] (empty batch), cleans its counter with a VIEW-CHANGE for
  /// view 3, then certifies a VIEW-CHANGE for view 4 with fromView 0 carrying that
  /// PREPARE. Views 1-3 fail (their NEW-VIEWs are withheld, R2 leads view 2), with a
  /// NEW-VIEW-ACK of view 1 from R2 completing the certificates R0 and R1 need to
  /// move on. R1, leader of view 4, builds its NEW-VIEW from its own and R2's
  /// VIEW-CHANGE; the old plan takes the highest-view PREPARE: the empty batch at 1.
  /// R0 delivers it, R1 delivered request 0.
  public static let unvouchedPrepare: RegressionTrace = {
    var bounds = ExplorerBounds()
    bounds.checkpointInterval = 2
    bounds.requests = 1
    bounds.byzantine = 2
    bounds.maxView = 4
    bounds.injectedFaults = .unvouchedPrepares
    let steps: [ExplorerStep] = [
      .request(0, to: 0),
      .deliver(
        MessageKey(kind: .prepare, origin: 0, view: 0, number: 1), from: 0, to: 1, pillar: 0),
      .timeout(0),
      .byzantine(
        .viewChange(pillar: 0, toView: 1, fromView: 0, prepares: .none, checkpoint: false, to: 1)),
      .deliver(viewChange(0, from: 0, to: 1), from: 0, to: 1, pillar: 0),
      .deliver(viewChange(1, from: 0, to: 1), from: 1, to: 0, pillar: 0),
      .timeout(0),
      .byzantine(
        .viewChange(pillar: 0, toView: 2, fromView: 0, prepares: .none, checkpoint: false, to: 1)),
      .byzantine(.send(viewChange(2, from: 0, to: 2), pillar: 0, to: 0)),
      .deliver(viewChange(0, from: 0, to: 2), from: 0, to: 1, pillar: 0),
      .deliver(viewChange(1, from: 1, to: 2), from: 1, to: 0, pillar: 0),
      .byzantine(.prepare(pillar: 0, view: 2, order: 1, batch: .empty, to: nil)),
      .byzantine(
        .viewChange(pillar: 0, toView: 3, fromView: 2, prepares: .own, checkpoint: false, to: nil)),
      .byzantine(
        .viewChange(pillar: 0, toView: 4, fromView: 0, prepares: .own, checkpoint: false, to: nil)),
      .byzantine(.acknowledge(pillar: 0, view: 1, prepares: .all, to: 0)),
      .byzantine(.send(MessageKey(kind: .ack, origin: 2, view: 1, number: 0), pillar: 0, to: 1)),
      .timeout(0),
      .timeout(1),
      .byzantine(.send(viewChange(2, from: 0, to: 4), pillar: 0, to: 1)),
      .deliver(viewChange(0, from: 1, to: 3), from: 0, to: 1, pillar: 0),
      .timeout(1),
      .deliver(
        MessageKey(kind: .newView, origin: 1, view: 4, number: 0), from: 1, to: 0, pillar: 0),
    ]
    var search = bounds
    search.depth = 3
    search.byzantineMoves = 1
    search.timeouts = 1
    return RegressionTrace(
      name: "unvouched-prepare",
      summary: "issue 10 attack 1: a PREPARE of a never-established view displaces a committed one",
      bounds: bounds, steps: steps, prefix: steps.count - 3, searchBounds: search)
  }()

  /// Attack 2 of issue 10 (§5.2.2, §5.2.3), scaled to K = 1, W = 2: a view-change
  /// certificate's PREPAREs are learned before its checkpoint moves the window.
  /// R1 follows the protocol (COMMITs, CHECKPOINT) while R0 orders requests 0-2 at
  /// 1-3 and checkpoint 2 becomes stable; R2 is cut off. Then R1 sends R2 its honest
  /// VIEW-CHANGE for view 1 (checkpoint 2, PREPARE [0|3]) and nothing else. R2,
  /// window (0, 2], learns the certificate's PREPAREs first (order 3 falls outside)
  /// and only then adopts checkpoint 2. Its VIEW-CHANGE for view 2 is empty, so is
  /// R1's; R2 leads view 2 and orders request 3 at 3, R1 COMMITs it: R0 and R2
  /// deliver different batches at 3.
  public static let learnBeforeStabilizing: RegressionTrace = {
    var bounds = ExplorerBounds()
    bounds.checkpointInterval = 1
    bounds.requests = 4
    bounds.byzantine = 1
    bounds.maxView = 2
    bounds.injectedFaults = .learnBeforeStabilizing
    let steps: [ExplorerStep] = [
      .request(0, to: 0),
      .byzantine(.commit(pillar: 0, view: 0, order: 1, to: 0)),
      .request(1, to: 0),
      .byzantine(.commit(pillar: 0, view: 0, order: 2, to: 0)),
      .byzantine(.checkpoint(pillar: 0, order: 2, digest: 0, to: 0)),
      .request(2, to: 0),
      .byzantine(.commit(pillar: 0, view: 0, order: 3, to: 0)),
      .byzantine(
        .viewChange(pillar: 0, toView: 1, fromView: 0, prepares: .seen, checkpoint: true, to: 2)),
      .request(3, to: 2),
      .timeout(2),
      .stateTransfer(2),
      .timeout(2),
      .byzantine(
        .viewChange(pillar: 0, toView: 2, fromView: 0, prepares: .none, checkpoint: true, to: 2)),
      .byzantine(.commit(pillar: 0, view: 2, order: 3, to: 2)),
    ]
    var search = bounds
    search.depth = 2
    search.byzantineMoves = 2
    search.timeouts = 1
    return RegressionTrace(
      name: "learn-before-stabilizing",
      summary:
        "issue 10 attack 2: a certificate's PREPAREs learned before its checkpoint moves the window",
      bounds: bounds, steps: steps, prefix: steps.count - 2, searchBounds: search)
  }()

  static func viewChange(_ replica: ReplicaID, from: View, to: View) -> MessageKey {
    MessageKey(kind: .viewChange, origin: replica, view: to, number: from)
  }
}
