import TrInX

/// One entry of a pillar's journal: what a replica must find on its own disk after a
/// crash so that it resumes as the same correct replica (issue 12; §5.1, §5.2.3).
///
/// A pillar that journals (``OrderingPillar/journaling``) emits
/// ``PillarAction/persist(_:)`` with these records, and the shell makes every
/// record of a turn durable *before* it releases any message or delivery of that
/// turn (persist before send, as etcd-raft's `Ready`). So every certificate another
/// replica ever saw is backed by the journal: after a restart the TrInX counter
/// continues from exactly the last released value, and the replica can still reveal
/// every PREPARE its next VIEW-CHANGE must carry (§5.2.3). A record of a turn whose
/// messages never left is harmless: recovery drops this replica's own certified
/// messages above the journaled counter (``PillarRecovery``).
public enum PillarRecord: Sendable, Hashable {
  /// A PREPARE this pillar holds for its window: one it certified (leader), accepted
  /// for its view (follower), installed with a NEW-VIEW, or learned from a
  /// view-change certificate. Its next VIEW-CHANGE carries it (§5.2.3).
  case prepare(Prepare)
  /// This pillar's own COMMIT (resent to peers that lost it).
  case commit(Commit)
  /// Another replica's COMMIT that counted for an instance this pillar delivered:
  /// after a power cut the instance may exist nowhere else with its votes — the
  /// voter may have moved its window on, or lost it too — and a replica behind could
  /// then never deliver it (simulator seed 410001813 with `--power-cut`).
  case vote(Commit)
  /// One of this pillar's own VIEW-CHANGEs (resent after a restart: its counter has
  /// moved past [toView|0] and cannot certify it again); the latest few are kept, as
  /// the pillar keeps them for replicas still changing to the views before.
  case viewChange(ViewChange)
  /// The NEW-VIEW that installed this pillar's view (or its own NEW-VIEW part, with
  /// rotating leaders): resent to replicas that missed it, which cannot enter the
  /// view without it (§5.2.3).
  case installed(NewView)
  /// The view this pillar is in, the view it accepted (they differ while a leader
  /// with rotating leaders waits for the other leaders' NEW-VIEW parts) and the view
  /// it vouches for (docs/view-change-safety.md, R2), after one of them changed.
  case views(entered: View, accepted: View, vouched: View)
  /// The last stable checkpoint (§5.2.2): the records below it are obsolete.
  case stable(StableCheckpoint)
  /// The ordering counter after the turn: every certificate released so far is at or
  /// below it, so a restarted TrInX continues above it (§5.1).
  case counter(CounterValue)
}

/// What a journaling pillar last recorded of the values it tracks by comparison (not
/// by emitting at each change).
struct JournalMarks: Sendable, Hashable {
  var counter: CounterValue = .zero
  var entered: View = 0
  var accepted: View = 0
  var vouched: View = 0
  var stableOrder: OrderNumber = 0
}
