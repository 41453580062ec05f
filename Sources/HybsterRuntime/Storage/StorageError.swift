#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why the storage engine (``RecordLog``, ``SnapshotStore``) could not do what it was asked.
///
/// Damage found on disk while *reading* is not an error: it is reported as
/// ``StorageDamage`` next to whatever could still be recovered.
public enum StorageError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The system call `operation` on `path` failed with `errno`.
  case io(path: String, operation: String, errno: Int32)
  /// A record is larger than the format allows (``RecordLog/maxRecordLength``).
  case recordTooLarge(length: Int, limit: Int)
  /// The log at `path` failed an earlier write or sync and refuses further work; what was
  /// synced before the failure is on disk, and reopening the log recovers it.
  case failed(path: String)
  /// A log name or snapshot prefix that cannot be used in a file name.
  case invalidName(String)

  public var description: String {
    switch self {
    case .io(let path, let operation, let code):
      "\(operation) \(path) failed: \(Self.explain(errno: code))"
    case .recordTooLarge(let length, let limit):
      "record of \(length) bytes exceeds the limit of \(limit) bytes"
    case .failed(let path):
      "record log \(path) is unusable after an earlier I/O error; reopen it to recover"
    case .invalidName(let name):
      "\"\(name)\" cannot be used as a storage file name (empty, or contains '/' or NUL)"
    }
  }

  /// A readable cause for `errno`: the common operator-fixable causes first in plain words.
  static func explain(errno code: Int32) -> String {
    let system = String(cString: strerror(code))
    switch code {
    case ENOSPC: return "disk full (ENOSPC: \(system))"
    case EDQUOT: return "disk quota exceeded (EDQUOT: \(system))"
    case EACCES: return "permission denied (EACCES: \(system))"
    case EPERM: return "permission denied (EPERM: \(system))"
    case EROFS: return "read-only file system (EROFS: \(system))"
    default: return "\(system) (errno \(code))"
    }
  }
}
