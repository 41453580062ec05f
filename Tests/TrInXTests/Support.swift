import Foundation
import TrInX

/// A 32-byte group key for tests.
let testKey: [UInt8] = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

/// Every counter's value, for before/after comparisons.
func snapshot(_ instance: TrInXInstance) -> [CounterValue] {
  (0..<instance.counterCount).map { try! instance.value(of: TrInXCounterID($0)) }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator so that property
/// tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension [UInt8] {
  init(hex: String) {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
      let next = hex.index(index, offsetBy: 2)
      bytes.append(UInt8(hex[index..<next], radix: 16)!)
      index = next
    }
    self = bytes
  }

  var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension TrInXMAC {
  /// The same tag with one bit flipped.
  func flippingBit(_ bit: Int) -> TrInXMAC {
    var bytes = self.bytes
    bytes[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
    return TrInXMAC(bytes: bytes)!
  }
}
