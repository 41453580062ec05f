/// An operation on the ``KeyValueStore``, and its binary encoding.
///
/// Encoding, version 1 (integers big-endian; `bytes` is a u32 length then the bytes;
/// `optional` is a u8 flag, 0 = absent, 1 = present followed by `bytes`):
///
///     version:u8 (= 1) | opcode:u8 | fields
///
///     opcode 1  get     key:bytes
///     opcode 2  put     key:bytes | value:bytes
///     opcode 3  delete  key:bytes
///     opcode 4  cas     key:bytes | expected:optional | new:bytes
///
/// Decoding is total: anything else (another version or opcode, a length past the
/// end, trailing bytes) is a ``ServiceDecodingError``.
public enum KeyValueOperation: Hashable, Sendable {
  /// Reads `key`; answered with ``KeyValueResult/value(_:)`` (`nil` if absent).
  case get(key: [UInt8])
  /// Sets `key` to `value`; answered with ``KeyValueResult/ok``.
  case put(key: [UInt8], value: [UInt8])
  /// Removes `key`; answered with ``KeyValueResult/ok`` or ``KeyValueResult/notFound``.
  case delete(key: [UInt8])
  /// Sets `key` to `new` only if its current value equals `expected` (`nil`: the key
  /// must be absent); answered with ``KeyValueResult/ok`` or
  /// ``KeyValueResult/casFailed(current:)``.
  case compareAndSwap(key: [UInt8], expected: [UInt8]?, new: [UInt8])

  /// The encoding version this code writes and reads.
  public static let version: UInt8 = 1

  enum Opcode: UInt8 {
    case get = 1
    case put = 2
    case delete = 3
    case compareAndSwap = 4
  }

  /// The version-1 encoding.
  public func encode() -> [UInt8] {
    var writer = ByteWriter()
    writer.append(Self.version)
    switch self {
    case .get(let key):
      writer.append(Opcode.get.rawValue)
      writer.append(lengthPrefixed: key)
    case .put(let key, let value):
      writer.append(Opcode.put.rawValue)
      writer.append(lengthPrefixed: key)
      writer.append(lengthPrefixed: value)
    case .delete(let key):
      writer.append(Opcode.delete.rawValue)
      writer.append(lengthPrefixed: key)
    case .compareAndSwap(let key, let expected, let new):
      writer.append(Opcode.compareAndSwap.rawValue)
      writer.append(lengthPrefixed: key)
      writer.append(optional: expected)
      writer.append(lengthPrefixed: new)
    }
    return writer.bytes
  }

  /// Decodes an operation; throws on any malformed input.
  public static func decode(_ bytes: [UInt8]) throws(ServiceDecodingError) -> KeyValueOperation {
    var reader = ByteReader(bytes)
    let version = try reader.readByte()
    guard version == Self.version else { throw .unsupportedVersion(version) }
    let tag = try reader.readByte()
    guard let opcode = Opcode(rawValue: tag) else { throw .unknownTag(tag) }
    let operation: KeyValueOperation
    switch opcode {
    case .get:
      operation = .get(key: try reader.readLengthPrefixed())
    case .put:
      let key = try reader.readLengthPrefixed()
      operation = .put(key: key, value: try reader.readLengthPrefixed())
    case .delete:
      operation = .delete(key: try reader.readLengthPrefixed())
    case .compareAndSwap:
      let key = try reader.readLengthPrefixed()
      let expected = try reader.readOptional()
      operation = .compareAndSwap(
        key: key, expected: expected, new: try reader.readLengthPrefixed())
    }
    try reader.finish()
    return operation
  }
}

/// The result of a ``KeyValueOperation``, and its binary encoding.
///
/// Encoding, version 1 (as for ``KeyValueOperation``):
///
///     version:u8 (= 1) | tag:u8 | fields
///
///     tag 1  value      value:optional
///     tag 2  ok
///     tag 3  notFound
///     tag 4  casFailed  current:optional
///     tag 5  error      message:bytes (UTF-8)
public enum KeyValueResult: Hashable, Sendable {
  /// The value read by a get (`nil`: the key is absent).
  case value([UInt8]?)
  /// A put, delete or successful cas was applied.
  case ok
  /// A delete found no such key.
  case notFound
  /// A cas found `current` instead of the expected value and changed nothing.
  case casFailed(current: [UInt8]?)
  /// The operation could not be decoded; nothing was changed.
  case error(String)

  /// The encoding version this code writes and reads.
  public static let version: UInt8 = 1

  enum Tag: UInt8 {
    case value = 1
    case ok = 2
    case notFound = 3
    case casFailed = 4
    case error = 5
  }

  /// The version-1 encoding.
  public func encode() -> [UInt8] {
    var writer = ByteWriter()
    writer.append(Self.version)
    switch self {
    case .value(let value):
      writer.append(Tag.value.rawValue)
      writer.append(optional: value)
    case .ok:
      writer.append(Tag.ok.rawValue)
    case .notFound:
      writer.append(Tag.notFound.rawValue)
    case .casFailed(let current):
      writer.append(Tag.casFailed.rawValue)
      writer.append(optional: current)
    case .error(let message):
      writer.append(Tag.error.rawValue)
      writer.append(lengthPrefixed: Array(message.utf8))
    }
    return writer.bytes
  }

  /// Decodes a result; throws on any malformed input.
  public static func decode(_ bytes: [UInt8]) throws(ServiceDecodingError) -> KeyValueResult {
    var reader = ByteReader(bytes)
    let version = try reader.readByte()
    guard version == Self.version else { throw .unsupportedVersion(version) }
    let byte = try reader.readByte()
    guard let tag = Tag(rawValue: byte) else { throw .unknownTag(byte) }
    let result: KeyValueResult
    switch tag {
    case .value: result = .value(try reader.readOptional())
    case .ok: result = .ok
    case .notFound: result = .notFound
    case .casFailed: result = .casFailed(current: try reader.readOptional())
    case .error:
      let raw = try reader.readLengthPrefixed()
      guard let message = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
      result = .error(message)
    }
    try reader.finish()
    return result
  }
}
