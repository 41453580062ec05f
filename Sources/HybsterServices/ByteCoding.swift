/// Why bytes could not be decoded. Decoding in this module is total: every input
/// either decodes or yields one of these, never a crash or an unbounded allocation.
public enum ServiceDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The input ended inside a field that needed `needed` more bytes.
  case truncated(needed: Int, remaining: Int)
  /// The encoding's version byte is not one this code understands.
  case unsupportedVersion(UInt8)
  /// A tag byte names no known case.
  case unknownTag(UInt8)
  /// An optional field's presence flag is neither 0 nor 1.
  case invalidPresenceFlag(UInt8)
  /// Bytes were left over after a complete value.
  case trailingBytes(Int)
  /// A text field is not valid UTF-8.
  case invalidUTF8

  public var description: String {
    switch self {
    case .truncated(let needed, let remaining):
      "input truncated: needed \(needed) more bytes, \(remaining) remain"
    case .unsupportedVersion(let v): "unsupported encoding version \(v)"
    case .unknownTag(let t): "unknown tag \(t)"
    case .invalidPresenceFlag(let f): "presence flag \(f) is neither 0 nor 1"
    case .trailingBytes(let n): "\(n) trailing bytes after a complete value"
    case .invalidUTF8: "text field is not valid UTF-8"
    }
  }
}

/// Appends big-endian integers and u32-length-prefixed byte strings.
struct ByteWriter {
  private(set) var bytes: [UInt8] = []

  mutating func append(_ byte: UInt8) { bytes.append(byte) }

  mutating func append<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }

  /// A u32 length followed by the bytes.
  mutating func append(lengthPrefixed value: [UInt8]) {
    append(UInt32(value.count))
    bytes.append(contentsOf: value)
  }

  /// A presence flag (0 or 1) followed, if present, by the length-prefixed bytes.
  mutating func append(optional value: [UInt8]?) {
    if let value {
      append(UInt8(1))
      append(lengthPrefixed: value)
    } else {
      append(UInt8(0))
    }
  }
}

/// Reads what ``ByteWriter`` writes; every length is checked against the bytes that
/// remain before anything is allocated.
struct ByteReader {
  private let bytes: [UInt8]
  private var offset = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var remaining: Int { bytes.count - offset }

  mutating func readByte() throws(ServiceDecodingError) -> UInt8 {
    guard remaining >= 1 else { throw .truncated(needed: 1, remaining: remaining) }
    defer { offset += 1 }
    return bytes[offset]
  }

  mutating func read<T: FixedWidthInteger>(_: T.Type) throws(ServiceDecodingError) -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else { throw .truncated(needed: size, remaining: remaining) }
    var value: T = 0
    for byte in bytes[offset..<offset + size] { value = value << 8 | T(byte) }
    offset += size
    return value
  }

  mutating func readLengthPrefixed() throws(ServiceDecodingError) -> [UInt8] {
    let length = Int(try read(UInt32.self))
    guard remaining >= length else { throw .truncated(needed: length, remaining: remaining) }
    defer { offset += length }
    return Array(bytes[offset..<offset + length])
  }

  mutating func readOptional() throws(ServiceDecodingError) -> [UInt8]? {
    switch try readByte() {
    case 0: return nil
    case 1: return try readLengthPrefixed()
    case let flag: throw .invalidPresenceFlag(flag)
    }
  }

  /// Throws unless every byte was consumed.
  func finish() throws(ServiceDecodingError) {
    guard remaining == 0 else { throw .trailingBytes(remaining) }
  }
}
