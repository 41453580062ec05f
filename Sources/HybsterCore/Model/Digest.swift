import Crypto
import Foundation

/// A SHA-256 digest stored inline (no heap allocation) (§6: SHA-256 for all
/// cryptographic operations).
public struct Digest: Hashable, Sendable, ContiguousBytes, CustomStringConvertible {
  @usableFromInline var w0, w1, w2, w3: UInt64

  /// The number of bytes in a digest.
  public static let byteCount = 32

  /// The all-zero digest (used for "nothing").
  public static let zero = Digest(w0: 0, w1: 0, w2: 0, w3: 0)

  init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
    (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
  }

  /// Creates a digest from exactly 32 bytes; `nil` for any other length.
  public init?(bytes: some Collection<UInt8>) {
    guard bytes.count == Self.byteCount else { return nil }
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    Swift.withUnsafeMutableBytes(of: &words) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    (w0, w1, w2, w3) = words
  }

  /// Creates a digest from the first 32 bytes at `raw` (which must hold at least 32):
  /// the non-generic fast path for decoders.
  public init(raw: UnsafeRawBufferPointer) {
    precondition(raw.count >= Self.byteCount)
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    Swift.withUnsafeMutableBytes(of: &words) {
      $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<Self.byteCount]))
    }
    (w0, w1, w2, w3) = words
  }

  init(_ digest: SHA256Digest) {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    digest.withUnsafeBytes { src in
      Swift.withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: src) }
    }
    (w0, w1, w2, w3) = words
  }

  /// The SHA-256 digest of `bytes`.
  public static func of(_ bytes: some ContiguousBytes) -> Digest {
    var builder = DigestBuilder()
    builder.append(raw: bytes)
    return builder.finalize()
  }

  /// The digest's bytes.
  public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let words = (w0, w1, w2, w3)
    return try Swift.withUnsafeBytes(of: words, body)
  }

  public var description: String {
    withUnsafeBytes { $0.prefix(6).map { String(format: "%02x", $0) }.joined() }
  }
}

/// Incrementally hashes a canonical, unambiguous encoding: fixed-width big-endian
/// integers and length-prefixed byte strings.
public struct DigestBuilder {
  private var hasher = SHA256()

  /// Starts a digest, optionally under a domain-separation tag.
  public init(tag: UInt8? = nil) {
    if let tag { append(tag) }
  }

  /// Appends a fixed-width integer, big-endian.
  public mutating func append<T: FixedWidthInteger>(_ value: T) {
    let be = value.bigEndian
    Swift.withUnsafeBytes(of: be) { hasher.update(bufferPointer: $0) }
  }

  /// Appends a byte string preceded by its length (u32).
  public mutating func append(bytes: some ContiguousBytes) {
    bytes.withUnsafeBytes { raw in
      append(UInt32(truncatingIfNeeded: raw.count))
      hasher.update(bufferPointer: raw)
    }
  }

  /// Appends bytes with no length prefix (only for fixed-size fields).
  public mutating func append(raw bytes: some ContiguousBytes) {
    bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
  }

  /// Appends a digest (32 bytes, no prefix).
  public mutating func append(_ digest: Digest) {
    digest.withUnsafeBytes { hasher.update(bufferPointer: $0) }
  }

  /// The digest of everything appended.
  public func finalize() -> Digest {
    Digest(hasher.finalize())
  }
}
