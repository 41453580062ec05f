import Crypto
import Foundation

/// HMAC-SHA256 with the key processed once (§6: "SHA-256 is employed for all
/// cryptographic operations"). Each MAC copies the keyed state instead of hashing
/// the key again.
@usableFromInline
struct KeyedHMAC: @unchecked Sendable {
  // `HMAC<SHA256>` is a value type; copies are independent (copy-on-write).
  let template: HMAC<SHA256>

  init(key: [UInt8]) {
    template = HMAC<SHA256>(key: SymmetricKey(data: key))
  }

  /// The MAC over a single-counter header and `message`.
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
    var hmac = template
    header.withBytes { hmac.update(data: $0) }
    message.withUnsafeBytes { hmac.update(data: $0) }
    return Self.tag(hmac.finalize())
  }

  /// Updates a copy of the keyed state with `header` then `message`.
  func mac(header: [UInt8], message: some ContiguousBytes) -> TrInXMAC {
    var hmac = template
    header.withUnsafeBytes { hmac.update(data: $0) }
    message.withUnsafeBytes { hmac.update(data: $0) }
    return Self.tag(hmac.finalize())
  }

  static func tag(_ code: HashedAuthenticationCode<SHA256>) -> TrInXMAC {
    code.withUnsafeBytes { TrInXMAC(raw: $0) }
  }
}

/// A fixed-size stack buffer for the big-endian header under a single-counter MAC.
struct HeaderBuffer {
  // 1 + 4 + 4 + 16 + 16 = 41 bytes at most.
  private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
  private(set) var count = 0

  mutating func append(_ byte: UInt8) {
    withUnsafeMutableBytes(of: &storage) { $0[count] = byte }
    count += 1
  }

  mutating func append<T: FixedWidthInteger>(_ value: T) {
    let be = value.bigEndian
    Swift.withUnsafeBytes(of: be) { src in
      withUnsafeMutableBytes(of: &storage) { dst in
        for i in 0..<src.count { dst[count + i] = src[i] }
      }
    }
    count += MemoryLayout<T>.size
  }

  func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
    Swift.withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
  }
}
