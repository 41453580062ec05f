/// The deterministic part of a NEW-VIEW (§5.2.3): from a new-view certificate (and
/// NEW-VIEW-ACKs), which checkpoint the new view starts from and which batch every
/// order number up to the highest prepared one gets. The new leader computes it to
/// build its NEW-VIEW; every follower recomputes it to check one; a replica that
/// collects a view-change certificate learns from it what it must propagate.
///
/// The rule (argued in docs/view-change-safety.md): the certificate's *base* is the
/// highest `fromView` among its VIEW-CHANGEs, a view that f+1 replicas vouch was
/// properly established. Only PREPAREs of views up to the base are evidence; among
/// them, per order number, the one of the highest view wins. A PREPARE of a view above
/// the base may come from a view that was never established, whose faulty leader
/// could certify anything.
public struct NewViewPlan: Sendable, Equatable {
  /// The highest stable checkpoint among the VIEW-CHANGEs.
  public var checkpoint: StableCheckpoint?
  /// The view the new state is derived from: the highest `fromView`.
  public var base: View
  /// The batches to re-propose, for consecutive order numbers after the checkpoint.
  public var assignments: [(order: OrderNumber, batch: Batch)]
  /// The PREPAREs the non-empty assignments come from, in order (what a replica
  /// that learns the certificate propagates in its later VIEW-CHANGEs).
  public var evidence: [Prepare]

  /// The checkpoint's order number (0 if none).
  public var checkpointOrder: OrderNumber { checkpoint?.order ?? 0 }

  public static func == (lhs: NewViewPlan, rhs: NewViewPlan) -> Bool {
    lhs.checkpoint == rhs.checkpoint && lhs.base == rhs.base
      && lhs.assignments.map(\.order) == rhs.assignments.map(\.order)
      && lhs.assignments.map(\.batch) == rhs.assignments.map(\.batch)
  }

  /// For every order number above the highest checkpoint and up to the highest
  /// admissible prepared one within the window, the PREPARE of the highest view not
  /// above the base among the VIEW-CHANGEs and NEW-VIEW-ACKs; gaps get no-ops.
  /// `admitUnvouched` drops the base bound (the simulator's self-test, and a
  /// Byzantine replica's plan in the simulator).
  public init(
    viewChanges: [ViewChange], acknowledgments: [NewViewAck], windowSize: UInt64,
    admitUnvouched: Bool = false
  ) {
    checkpoint = viewChanges.compactMap(\.checkpoint).max { $0.order < $1.order }
    base = viewChanges.map(\.fromView).max() ?? 0
    let low = checkpoint?.order ?? 0
    var chosen: [OrderNumber: Prepare] = [:]
    let candidates = viewChanges.flatMap(\.prepares) + acknowledgments.flatMap(\.prepares)
    for prepare in candidates
    where prepare.order > low && prepare.order - low <= windowSize
      && (admitUnvouched || prepare.view <= base)
    {
      if let current = chosen[prepare.order], current.view >= prepare.view { continue }
      chosen[prepare.order] = prepare
    }
    let highest = chosen.keys.max() ?? low
    assignments = (low + 1..<highest + 1).map { order in
      (order, chosen[order]?.batch ?? .empty)
    }
    evidence = chosen.keys.sorted().map { chosen[$0]! }
  }
}
