import HybsterCore

/// A replicated key-value store over byte-string keys and values (a service for
/// Hybster's evaluation, §6): get, put, delete and compare-and-swap.
///
/// Operations and results use the versioned encodings of ``KeyValueOperation`` and
/// ``KeyValueResult``. Execution is deterministic and total: bytes that do not
/// decode to an operation yield ``KeyValueResult/error(_:)`` and change nothing.
///
/// Snapshot, version 1 (§5.2.2: equal states give equal bytes), integers big-endian:
///
///     magic "HKVS" | version:u8 (= 1) | count:u64
///     | count × (key:bytes | value:bytes)     keys strictly increasing
///
/// where `bytes` is a u32 length then the bytes and keys are ordered
/// lexicographically by unsigned byte.
public struct KeyValueStore: ReplicatedService {
  /// The entries.
  public private(set) var entries: [[UInt8]: [UInt8]] = [:]

  /// The snapshot's leading bytes, "HKVS".
  public static let snapshotMagic: [UInt8] = Array("HKVS".utf8)
  /// The snapshot format version.
  public static let snapshotVersion: UInt8 = 1

  /// Creates an empty store.
  public init() {}

  /// The value of `key`, if any.
  public subscript(key: [UInt8]) -> [UInt8]? { entries[key] }

  /// Applies `operation` and returns its result.
  public mutating func apply(_ operation: KeyValueOperation) -> KeyValueResult {
    switch operation {
    case .get(let key):
      return .value(entries[key])
    case .put(let key, let value):
      entries[key] = value
      return .ok
    case .delete(let key):
      return entries.removeValue(forKey: key) == nil ? .notFound : .ok
    case .compareAndSwap(let key, let expected, let new):
      let current = entries[key]
      guard current == expected else { return .casFailed(current: current) }
      entries[key] = new
      return .ok
    }
  }

  /// Decodes, applies and encodes; malformed operations give an encoded error result.
  public mutating func execute(_ operation: [UInt8]) -> [UInt8] {
    do {
      return apply(try KeyValueOperation.decode(operation)).encode()
    } catch {
      return KeyValueResult.error("malformed operation: \(error)").encode()
    }
  }

  /// The canonical snapshot: entries sorted by key.
  public func snapshot() -> [UInt8] {
    var writer = ByteWriter()
    for byte in Self.snapshotMagic { writer.append(byte) }
    writer.append(Self.snapshotVersion)
    writer.append(UInt64(entries.count))
    for key in entries.keys.sorted(by: Self.precedes) {
      writer.append(lengthPrefixed: key)
      writer.append(lengthPrefixed: entries[key]!)
    }
    return writer.bytes
  }

  /// Replaces the state with `snapshot`.
  /// - Throws: ``KeyValueStoreSnapshotError`` if the snapshot is not a canonical
  ///   version-1 snapshot; the state is then unchanged.
  public mutating func restore(from snapshot: [UInt8]) throws {
    entries = try Self.decodeSnapshot(snapshot)
  }

  /// Decodes a snapshot without touching any store.
  public static func decodeSnapshot(
    _ snapshot: [UInt8]
  ) throws(KeyValueStoreSnapshotError) -> [[UInt8]: [UInt8]] {
    var reader = ByteReader(snapshot)
    for expected in snapshotMagic {
      guard try field({ () throws(ServiceDecodingError) in try reader.readByte() }) == expected
      else { throw .badMagic }
    }
    let version = try field { () throws(ServiceDecodingError) in try reader.readByte() }
    guard version == snapshotVersion else { throw .malformed(.unsupportedVersion(version)) }
    let count = try field { () throws(ServiceDecodingError) in try reader.read(UInt64.self) }
    // Each entry takes at least 8 bytes: never trust the count for allocation.
    guard count <= UInt64(reader.remaining / 8) else { throw .countExceedsData(count) }
    var entries: [[UInt8]: [UInt8]] = [:]
    entries.reserveCapacity(Int(count))
    var previous: [UInt8]?
    for _ in 0..<count {
      let (key, value) = try field { () throws(ServiceDecodingError) in
        (try reader.readLengthPrefixed(), try reader.readLengthPrefixed())
      }
      if let previous, !precedes(previous, key) { throw .keysNotStrictlyIncreasing }
      previous = key
      entries[key] = value
    }
    try field { () throws(ServiceDecodingError) in try reader.finish() }
    return entries
  }

  private static func field<T>(
    _ body: () throws(ServiceDecodingError) -> T
  ) throws(KeyValueStoreSnapshotError) -> T {
    do { return try body() } catch { throw .malformed(error) }
  }

  static func precedes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    lhs.lexicographicallyPrecedes(rhs)
  }
}

/// Why a ``KeyValueStore`` snapshot was refused.
public enum KeyValueStoreSnapshotError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The snapshot does not start with "HKVS".
  case badMagic
  /// The entry count is larger than the remaining bytes could hold.
  case countExceedsData(UInt64)
  /// Keys are not in strictly increasing order (not canonical, or a duplicate key).
  case keysNotStrictlyIncreasing
  /// A field could not be decoded.
  case malformed(ServiceDecodingError)

  public var description: String {
    switch self {
    case .badMagic: "snapshot does not start with HKVS"
    case .countExceedsData(let c): "entry count \(c) exceeds the snapshot's data"
    case .keysNotStrictlyIncreasing: "snapshot keys are not strictly increasing"
    case .malformed(let e): "malformed snapshot: \(e)"
    }
  }
}
