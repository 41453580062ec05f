/// CRC-32C (Castagnoli, reflected polynomial `0x82F63B78`), as used by iSCSI, ext4 and
/// SCTP. Hand-written and table driven ("slicing by 8": eight 256-entry tables, eight
/// bytes per step; the first table alone is the classic byte-at-a-time algorithm).
///
///     CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283
///
/// Incremental use: `var crc = CRC32C(); crc.update(a); crc.update(b); crc.value`.
public struct CRC32C: Sendable, Hashable {
  /// The register before the final inversion.
  private var state: UInt32 = 0xFFFF_FFFF

  /// A checksum of no bytes (its ``value`` is 0).
  public init() {}

  /// The CRC-32C of every byte passed to `update` so far.
  public var value: UInt32 { ~state }

  /// The CRC-32C of `bytes`.
  public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc = CRC32C()
    crc.update(bytes)
    return crc.value
  }

  /// Feeds `bytes`.
  public mutating func update(_ bytes: some Sequence<UInt8>) {
    let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
      update(UnsafeRawBufferPointer(buffer))
    }
    if done == nil {
      for byte in bytes { updateByte(byte) }
    }
  }

  /// Feeds the bytes of `value` in big-endian order (as the storage formats lay out integers).
  mutating func update<T: FixedWidthInteger>(bigEndian value: T) {
    withUnsafeBytes(of: value.bigEndian) { update($0) }
  }

  /// Feeds `bytes`.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    var crc = state
    var index = 0
    let count = bytes.count
    Self.tables.withUnsafeBufferPointer { table in
      while count - index >= 8 {
        let low =
          crc
          ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8
            | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
        crc =
          table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
          ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
          ^ table[3 * 256 + Int(bytes[index + 4])] ^ table[2 * 256 + Int(bytes[index + 5])]
          ^ table[1 * 256 + Int(bytes[index + 6])] ^ table[Int(bytes[index + 7])]
        index += 8
      }
      while index < count {
        crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
        index += 1
      }
    }
    state = crc
  }

  private mutating func updateByte(_ byte: UInt8) {
    state = Self.tables[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8)
  }

  /// The reflected Castagnoli polynomial.
  static let polynomial: UInt32 = 0x82F6_3B78

  /// Table `k` (entries `k * 256 ..< (k + 1) * 256`) is the CRC of a byte followed by `k`
  /// zero bytes; table 0 is the byte-at-a-time table.
  static let tables: [UInt32] = {
    var tables = [UInt32](repeating: 0, count: 8 * 256)
    for byte in 0..<256 {
      var crc = UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
      tables[byte] = crc
    }
    for slice in 1..<8 {
      for byte in 0..<256 {
        let previous = tables[(slice - 1) * 256 + byte]
        tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
      }
    }
    return tables
  }()
}
