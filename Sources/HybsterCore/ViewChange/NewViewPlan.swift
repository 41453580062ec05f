/// The deterministic part of a NEW-VIEW (§5.2.3): from a new-view certificate (and
/// NEW-VIEW-ACKs), which checkpoint the new view starts from and which batch every
/// order number up to the highest prepared one gets. The new leader computes it to
/// build its NEW-VIEW; every follower recomputes it to check one.
struct NewViewPlan: Sendable, Equatable {
  /// The highest stable checkpoint among the VIEW-CHANGEs.
  var checkpoint: StableCheckpoint?
  /// The batches to re-propose, for consecutive order numbers after the checkpoint.
  var assignments: [(order: OrderNumber, batch: Batch)]

  /// The checkpoint's order number (0 if none).
  var checkpointOrder: OrderNumber { checkpoint?.order ?? 0 }

  static func == (lhs: NewViewPlan, rhs: NewViewPlan) -> Bool {
    lhs.checkpoint == rhs.checkpoint
      && lhs.assignments.map(\.order) == rhs.assignments.map(\.order)
      && lhs.assignments.map(\.batch) == rhs.assignments.map(\.batch)
  }

  /// For every order number above the highest checkpoint and up to the highest
  /// prepared one within the window, the PREPARE of the highest view among the
  /// VIEW-CHANGEs and NEW-VIEW-ACKs; gaps get no-ops.
  init(viewChanges: [ViewChange], acknowledgments: [NewViewAck], windowSize: UInt64) {
    checkpoint = viewChanges.compactMap(\.checkpoint).max { $0.order < $1.order }
    let low = checkpoint?.order ?? 0
    var chosen: [OrderNumber: Prepare] = [:]
    let candidates = viewChanges.flatMap(\.prepares) + acknowledgments.flatMap(\.prepares)
    for prepare in candidates where prepare.order > low && prepare.order <= low + windowSize {
      if let current = chosen[prepare.order], current.view >= prepare.view { continue }
      chosen[prepare.order] = prepare
    }
    let highest = chosen.keys.max() ?? low
    assignments = (low + 1..<highest + 1).map { order in
      (order, chosen[order]?.batch ?? .empty)
    }
  }
}
