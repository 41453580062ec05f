/// How hard the storage engine works to make a completed write survive a crash.
///
/// - ``fsync``: every ``RecordLog/sync()``, base and snapshot ends with `fdatasync`/`fsync`
///   of the file (and of the directory where an entry was created, renamed or removed). A
///   call that returned survives a power failure. The default for replicas.
/// - ``none``: the same writes reach the kernel's page cache but are never forced to the
///   disk. They survive a crash of the process, not of the machine: data may be lost on
///   power failure. For benchmarks only.
public enum Durability: String, Sendable, CaseIterable {
  /// Force every completed write to the disk (`fdatasync`/`fsync`); the default for replicas.
  case fsync
  /// Never force writes to the disk; for benchmarks. Data may be lost on power failure.
  case none
}
