import HybsterCore
import HybsterWire
import TrInX

/// One pillar's journal on disk (issue 12): the ``HybsterCore/PillarRecord``s its
/// pillar emits, in a checksummed ``RecordLog`` with group commit. The driver
/// appends every record of a turn and calls ``sync()`` before any message or
/// delivery of that turn leaves the replica. Once the segment holds more than
/// ``compactionBytes``, the next stable checkpoint starts a new base segment holding
/// the whole journaled state, and the older segments go: a base holds up to a window
/// of PREPAREs with their batches, so writing one at every checkpoint would cost
/// more I/O than the records themselves.
final class PillarJournal {
  private let log: RecordLog
  /// The journaled state, folded as recovery folds it (the next base).
  private(set) var state: PillarRecovery
  private var newBase = false
  /// How large the current segment may grow before a stable checkpoint compacts it.
  static let compactionBytes = 16 << 20

  /// What opening a journal found.
  struct Opened {
    /// The journal; its ``state`` is the state to restart from (empty for a new
    /// replica or a discarded journal).
    var journal: PillarJournal
    /// Damage the storage engine repaired (a torn tail after a crash) or that made
    /// the journal untrustworthy.
    var damage: [StorageDamage]
    /// Whether the journal was discarded: a record in its middle failed its
    /// checksum or did not decode, so records that backed released messages may be
    /// missing, and the replica must restart as a new one (counter at its reservation).
    var discarded: Bool
  }

  private init(log: RecordLog, state: PillarRecovery) {
    self.log = log
    self.state = state
  }

  /// Opens (creating) the journal of pillar `pillar` of `replica` in `directory`.
  static func open(
    directory: String, replica: ReplicaID, pillar: Int, durability: Durability
  ) throws(StorageError) -> Opened {
    let log = try RecordLog.open(
      directory: directory, name: "replica-\(replica)-pillar-\(pillar)", durability: durability)
    var damage = log.recovered.damage
    var discarded = damage.contains {
      if case .corrupt = $0 { true } else { false }
    }
    var state = PillarRecovery()
    for (index, bytes) in log.recovered.records.enumerated() where !discarded {
      do {
        state.apply(try JournalCodec.decode(bytes))
      } catch {
        damage.append(
          .corrupt(
            path: log.segmentPath, offset: UInt64(index), reason: "record \(index): \(error)"))
        discarded = true
      }
    }
    log.releaseRecovered()
    if discarded { state = PillarRecovery() }
    return Opened(
      journal: PillarJournal(log: log, state: state), damage: damage,
      discarded: discarded)
  }

  /// Replaces the journal's content with `state` (after a discarded journal: the
  /// counter value the replica restarts from).
  func rewrite(_ state: PillarRecovery) throws(StorageError) {
    self.state = state
    try log.startBase(state.baseRecords.map(JournalCodec.encode))
  }

  /// Buffers `record`; durable after the next ``sync()``.
  func append(_ record: PillarRecord) throws(StorageError) {
    state.apply(record)
    if case .stable = record { newBase = true }
    try log.append(JournalCodec.encode(record))
  }

  /// Makes every appended record durable (one fsync), and after a new stable
  /// checkpoint, once the segment is large, starts a new base without the records
  /// below it.
  func sync() throws(StorageError) {
    if newBase, log.segmentBytes >= Self.compactionBytes {
      newBase = false
      try log.startBase(state.baseRecords.map(JournalCodec.encode))
    } else {
      try log.sync()
    }
  }

  /// Records buffered and not yet synced.
  var pendingCount: Int { log.pendingCount }
}
