/// The on-disk layout of one ``SnapshotStore`` file, `<prefix>-<order, 20 digits>.snap`.
/// All integers are big-endian.
///
///     magic "HYBSTSNP" (8) | version u16 = 1 | order u64 (equals the file name's)
///     | length u64 | CRC32C u32 of the payload | CRC32C u32 of the preceding 30 bytes
///     | payload (length bytes; the file ends exactly there)
enum SnapshotFormat {
  static let magic: [UInt8] = Array("HYBSTSNP".utf8)
  static let version: UInt16 = 1
  static let headerSize = 34
  static let suffix = ".snap"

  /// `<prefix>-<order, 20 digits>.snap`.
  static func fileName(prefix: String, order: UInt64) -> String {
    let digits = String(order)
    return prefix + "-" + String(repeating: "0", count: 20 - digits.count) + digits + suffix
  }

  /// The order in `fileName` if it is exactly `<prefix>-<20 digits>.snap`.
  static func order(inFileName fileName: String, prefix: String) -> UInt64? {
    let file = Array(fileName.utf8)
    let head = Array(prefix.utf8) + [UInt8(ascii: "-")]
    let tail = Array(suffix.utf8)
    guard file.count == head.count + 20 + tail.count,
      file.starts(with: head), file.suffix(tail.count).elementsEqual(tail)
    else { return nil }
    var order: UInt64 = 0
    for byte in file[head.count..<head.count + 20] {
      guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
      let (times10, overflow1) = order.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
      guard !overflow1 && !overflow2 else { return nil }
      order = sum
    }
    return order
  }

  /// The header of a snapshot of `payload` at `order`.
  static func header(order: UInt64, payload: [UInt8]) -> [UInt8] {
    var bytes = magic
    bytes.appendBigEndian(version)
    bytes.appendBigEndian(order)
    bytes.appendBigEndian(UInt64(payload.count))
    bytes.appendBigEndian(CRC32C.checksum(payload))
    bytes.appendBigEndian(CRC32C.checksum(bytes))
    return bytes
  }

  /// A verified header: the payload length (equal to what the file holds after the header)
  /// and its checksum.
  struct Header {
    var length: Int
    var payloadChecksum: UInt32
  }

  /// Verifies `bytes` (the first ``headerSize`` bytes of a file of `fileSize` bytes named
  /// with `order`); returns why not, or the header.
  static func readHeader(_ bytes: [UInt8], order: UInt64, fileSize: Int)
    -> Result<Header, Invalid>
  {
    guard bytes.count == headerSize else { return .failure(.init("file shorter than a header")) }
    guard bytes[0..<8].elementsEqual(magic) else { return .failure(.init("bad magic")) }
    guard CRC32C.checksum(bytes[0..<30]) == readBigEndian(bytes, at: 30, as: UInt32.self) else {
      return .failure(.init("header checksum mismatch"))
    }
    let version = readBigEndian(bytes, at: 8, as: UInt16.self)
    guard version == Self.version else {
      return .failure(.init("unsupported format version \(version)"))
    }
    let inHeader = readBigEndian(bytes, at: 10, as: UInt64.self)
    guard inHeader == order else {
      return .failure(.init("header names order \(inHeader), file name \(order)"))
    }
    let length = readBigEndian(bytes, at: 18, as: UInt64.self)
    guard length == UInt64(fileSize - headerSize) else {
      return .failure(
        .init("header says \(length) payload bytes, file holds \(fileSize - headerSize)"))
    }
    return .success(
      Header(length: Int(length), payloadChecksum: readBigEndian(bytes, at: 26, as: UInt32.self)))
  }

  /// Why a snapshot file does not verify.
  struct Invalid: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
  }
}
