import Testing

@testable import HybsterRuntime

@Suite("Storage: CRC32C (issue 12)")
struct StorageCRC32CTests {
  /// Bit-at-a-time CRC-32C straight from the definition, independent of the tables.
  func reference(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
  }

  @Test("known answers (the check value and the RFC 3720 iSCSI vectors)")
  func knownAnswers() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8]()) == 0)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    #expect(CRC32C.checksum(AnySequence(Array("123456789".utf8))) == 0xE306_9283)
  }

  @Test("the sliced tables agree with the bitwise definition, whole and incrementally")
  func agreesWithReference() {
    var generator = SystemRandomNumberGenerator()
    for length in 0..<80 {
      let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
      let expected = reference(bytes)
      #expect(CRC32C.checksum(bytes) == expected)
      for split in 0...length {
        var crc = CRC32C()
        crc.update(bytes[..<split])
        crc.update(bytes[split...])
        #expect(crc.value == expected)
      }
    }
  }
}
