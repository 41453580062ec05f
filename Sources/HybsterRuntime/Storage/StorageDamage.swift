/// Something the storage engine found on disk and discarded instead of returning it.
///
/// Damage is not an error: recovery returns everything before the damage, and the caller
/// decides what to do (a replica repairs the rest from its peers). Offsets are byte offsets
/// into the file named by `path`.
public enum StorageDamage: Hashable, Sendable, CustomStringConvertible {
  /// The newest segment ended in the middle of a record (or of its header), as an
  /// interrupted write leaves it. The file was truncated to `offset`, the end of the last
  /// complete record.
  case tornTail(path: String, offset: UInt64)
  /// Bytes at `offset` do not verify (bad checksum, impossible length, bad header, missing
  /// segment). Nothing from there on, in this file or in later segments, was returned.
  case corrupt(path: String, offset: UInt64, reason: String)
  /// A new base segment that was never completed (a crash during ``RecordLog/startBase(_:)``).
  /// It was removed, and the previous chain of segments recovered instead.
  case incompleteBase(path: String)

  /// The file the damage was found in.
  public var path: String {
    switch self {
    case .tornTail(let path, _), .corrupt(let path, _, _), .incompleteBase(let path): path
    }
  }

  public var description: String {
    switch self {
    case .tornTail(let path, let offset): "\(path): torn tail, truncated to \(offset) bytes"
    case .corrupt(let path, let offset, let reason): "\(path) at \(offset): corrupt: \(reason)"
    case .incompleteBase(let path): "\(path): incomplete base segment, removed"
    }
  }
}
