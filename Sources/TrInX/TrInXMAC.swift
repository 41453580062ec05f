/// A 32-byte HMAC-SHA256 tag stored inline (no heap allocation) (§5.1, §6).
///
/// Equality is constant-time: it never stops at the first differing byte.
public struct TrInXMAC: Hashable, Sendable {
  @usableFromInline var w0, w1, w2, w3: UInt64

  /// The number of bytes in a tag.
  public static let byteCount = 32

  /// Creates a tag from exactly 32 bytes; `nil` for any other length.
  public init?(bytes: some Collection<UInt8>) {
    guard bytes.count == Self.byteCount else { return nil }
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    withUnsafeMutableBytes(of: &words) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    (w0, w1, w2, w3) = words
  }

  /// Creates a tag from the first 32 bytes at `raw` (which must hold at least 32):
  /// the non-generic fast path for decoders.
  public init(raw: UnsafeRawBufferPointer) {
    precondition(raw.count >= Self.byteCount)
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    withUnsafeMutableBytes(of: &words) {
      $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<Self.byteCount]))
    }
    (w0, w1, w2, w3) = words
  }

  /// The tag's bytes.
  public var bytes: [UInt8] {
    withUnsafeBytes { Array($0) }
  }

  /// Calls `body` with the tag's 32 bytes.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    let words = (w0, w1, w2, w3)
    return try Swift.withUnsafeBytes(of: words, body)
  }

  /// Constant-time comparison.
  public static func == (lhs: TrInXMAC, rhs: TrInXMAC) -> Bool {
    ((lhs.w0 ^ rhs.w0) | (lhs.w1 ^ rhs.w1) | (lhs.w2 ^ rhs.w2) | (lhs.w3 ^ rhs.w3)) == 0
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(w0)
  }
}
