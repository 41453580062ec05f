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

  /// HMAC(key, header ‖ message).
  func mac(header: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> TrInXMAC {
    var hmac = template
    hmac.update(data: header)
    hmac.update(data: message)
    return hmac.finalize().withUnsafeBytes { TrInXMAC(raw: $0) }
  }

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
