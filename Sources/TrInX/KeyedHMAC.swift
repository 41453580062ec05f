import Crypto
import Foundation

/// HMAC-SHA256 (RFC 2104) with the key processed once (§6: "SHA-256 is employed for
/// all cryptographic operations").
///
/// The group key is absorbed into an inner (key ⊕ ipad) and an outer (key ⊕ opad)
/// SHA-256 state at set-up. Each MAC copies those two states, so it costs exactly the
/// compression calls of the data plus two (no re-hashing of the key). SHA-256 itself is
/// swift-crypto's; only the RFC 2104 composition is spelled out here, so that the hot
/// path takes raw buffers (`SHA256.update(bufferPointer:)`) instead of going through
/// the generic `DataProtocol` entry points of `HMAC`.
///
/// Public so that the rest of Hybster (client authenticators, replies) uses the same
/// small, audited primitive instead of a second HMAC.
public struct KeyedHMAC: @unchecked Sendable {
  // `SHA256` is a copy-on-write value: the states below are never mutated after `init`,
  // every MAC works on its own copy. That is why sharing them across threads is safe,
  // and why the `@unchecked` above is sound (swift-crypto does not mark SHA256 Sendable).
  private let inner: SHA256
  private let outer: SHA256

  /// SHA-256's block size; keys longer than this would have to be hashed first.
  static let blockSize = 64

  /// Prepares `key` (at most 64 bytes).
  public init(key: [UInt8]) {
    precondition(key.count <= Self.blockSize, "HMAC keys here are at most 64 bytes")
    var pad = [UInt8](repeating: 0, count: Self.blockSize)
    for (i, byte) in key.enumerated() { pad[i] = byte }
    var inner = SHA256()
    var outer = SHA256()
    for i in pad.indices { pad[i] ^= 0x36 }
    pad.withUnsafeBytes { inner.update(bufferPointer: $0) }
    for i in pad.indices { pad[i] ^= 0x36 ^ 0x5c }
    pad.withUnsafeBytes { outer.update(bufferPointer: $0) }
    for i in pad.indices { pad[i] = 0 }
    self.inner = inner
    self.outer = outer
  }

  /// HMAC(key, header ‖ message).
  ///
  /// Small inputs are concatenated on the stack and hashed with one update call; the
  /// MAC is the same either way, this only saves a call per certification.
  public func mac(header: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> TrInXMAC {
    var hasher = inner
    let total = header.count + message.count
    if total <= Self.concatenationLimit {
      withUnsafeTemporaryAllocation(byteCount: total, alignment: 8) { buffer in
        if header.count > 0 {
          buffer.baseAddress!.copyMemory(from: header.baseAddress!, byteCount: header.count)
        }
        if message.count > 0 {
          (buffer.baseAddress! + header.count).copyMemory(
            from: message.baseAddress!, byteCount: message.count)
        }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(buffer))
      }
    } else {
      hasher.update(bufferPointer: header)
      hasher.update(bufferPointer: message)
    }
    let innerDigest = hasher.finalize()
    var outerHasher = outer
    innerDigest.withUnsafeBytes { outerHasher.update(bufferPointer: $0) }
    return outerHasher.finalize().withUnsafeBytes { TrInXMAC(raw: $0) }
  }

  /// HMAC(key, message).
  public func mac(_ message: UnsafeRawBufferPointer) -> TrInXMAC {
    mac(header: UnsafeRawBufferPointer(start: nil, count: 0), message: message)
  }

  /// Up to this many bytes of header and message are copied together before hashing.
  static let concatenationLimit = 512

  /// The MAC over a single-counter header (layout in ``TrInXInstance``) and `message`.
  func mac(
    kind: CertificateKind, issuer: TrInXInstanceID, counter: TrInXCounterID,
    newValue: CounterValue, previous: CounterValue?, message: some ContiguousBytes
  ) -> TrInXMAC {
    var header = HeaderBuffer()
    header.append(kind.rawValue)
    header.append(issuer)
    header.append(counter)
    header.append(newValue.high)
    header.append(newValue.low)
    if let previous {
      header.append(previous.high)
      header.append(previous.low)
    }
    return header.withBytes { headerBytes in
      message.withUnsafeBytes { mac(header: headerBytes, message: $0) }
    }
  }

  /// The MAC over a multi-counter header (layout in ``MultiCounterCertificate``) and
  /// `message`. `kind` decides whether previous values are included; callers make sure
  /// every entry has one for ``CertificateKind/multiContinuing``.
  func mac(
    kind: CertificateKind, issuer: TrInXInstanceID,
    entries: [MultiCounterCertificate.Entry], message: some ContiguousBytes
  ) -> TrInXMAC {
    let withPrevious = kind == .multiContinuing
    var header: [UInt8] = []
    header.reserveCapacity(9 + entries.count * (withPrevious ? 36 : 20))
    header.append(kind.rawValue)
    header.appendBigEndian(issuer)
    header.appendBigEndian(UInt32(truncatingIfNeeded: entries.count))
    for entry in entries {
      header.appendBigEndian(entry.counter)
      header.appendBigEndian(entry.newValue.high)
      header.appendBigEndian(entry.newValue.low)
      if withPrevious {
        let previous = entry.previousValue ?? .zero
        header.appendBigEndian(previous.high)
        header.appendBigEndian(previous.low)
      }
    }
    return header.withUnsafeBytes { headerBytes in
      message.withUnsafeBytes { mac(header: headerBytes, message: $0) }
    }
  }
}

extension [UInt8] {
  mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
  }
}

/// A fixed-size stack buffer for the big-endian header under a single-counter MAC.
struct HeaderBuffer {
  // 1 + 4 + 4 + 16 + 16 = 41 bytes at most.
  private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
  private(set) var count = 0

  mutating func append<T: FixedWidthInteger>(_ value: T) {
    let offset = count
    withUnsafeMutableBytes(of: &storage) {
      $0.storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
    count = offset + MemoryLayout<T>.size
  }

  func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
    Swift.withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
  }
}
