/// What ``RecordLog/open(directory:name:durability:segmentLimit:)`` found on disk.
public struct RecoveredLog: Sendable, Hashable {
  /// The records to replay, in order: the base records of the newest complete base segment,
  /// then every record appended after it, up to the first damage.
  public var records: [[UInt8]]
  /// How many of ``records`` are the base (the state passed to ``RecordLog/startBase(_:)``).
  public var baseRecordCount: Int
  /// What was discarded and why; empty after a clean shutdown or crash-free run.
  public var damage: [StorageDamage]
}
