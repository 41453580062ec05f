/// The on-disk layout of one ``RecordLog`` segment file, `<name>-<16-digit sequence>.log`.
/// All integers are big-endian.
///
///     header (24 bytes):
///       magic "HYBSTLOG" (8) | version u16 = 1 | kind u16 (1 base, 2 continuation)
///       | sequence u64 (equals the file name's) | CRC32C u32 of the preceding 20 bytes
///     then frames until the end of the file:
///       word u32 | CRC32C u32 over (sequence u64, word u32, payload) | payload
///
/// A frame's `word` is the payload length, at most ``maxRecordLength``; the one other value,
/// ``baseCompleteWord`` (no payload), is the base-complete marker that ends the base records
/// of a base segment. Any other value is corruption, never a size to allocate. The sequence in
/// each frame's checksum means a frame copied from another segment does not verify.
enum LogSegmentFormat {
  static let magic: [UInt8] = Array("HYBSTLOG".utf8)
  static let version: UInt16 = 1
  static let headerSize = 24
  static let frameHeaderSize = 8
  /// The largest record payload: 64 MiB.
  static let maxRecordLength = 64 << 20
  /// The frame word of the base-complete marker (above every valid length).
  static let baseCompleteWord: UInt32 = 0x8000_0000

  /// What a segment holds first.
  enum Kind: UInt16, Sendable {
    /// Starts with a base (the caller's full state), complete once its marker is present.
    case base = 1
    /// Continues the previous segment of the chain (a size roll-over).
    case continuation = 2
  }

  // MARK: - File names

  /// `<name>-<sequence, 16 digits>.log`.
  static func fileName(name: String, sequence: UInt64) -> String {
    let digits = String(sequence)
    return name + "-" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits + ".log"
  }

  /// The largest sequence that still fits the 16-digit file name.
  static let maxSequence: UInt64 = 9_999_999_999_999_999

  /// The sequence in `fileName` if it is exactly `<name>-<16 digits>.log`.
  static func sequence(inFileName fileName: String, name: String) -> UInt64? {
    let file = Array(fileName.utf8)
    let prefix = Array(name.utf8) + [UInt8(ascii: "-")]
    let suffix = Array(".log".utf8)
    guard file.count == prefix.count + 16 + suffix.count,
      file.starts(with: prefix), file.suffix(suffix.count).elementsEqual(suffix)
    else { return nil }
    var sequence: UInt64 = 0
    for byte in file[prefix.count..<prefix.count + 16] {
      guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
      sequence = sequence * 10 + UInt64(byte - UInt8(ascii: "0"))
    }
    return sequence
  }

  // MARK: - Header

  /// The header of segment `sequence`.
  static func header(kind: Kind, sequence: UInt64) -> [UInt8] {
    var bytes = magic
    bytes.appendBigEndian(version)
    bytes.appendBigEndian(kind.rawValue)
    bytes.appendBigEndian(sequence)
    bytes.appendBigEndian(CRC32C.checksum(bytes))
    return bytes
  }

  /// What the first bytes of a segment file say.
  enum Header: Equatable, Sendable {
    case valid(Kind)
    /// Shorter than a header, or a header of zeros: what a crash right after creating the
    /// file leaves.
    case missing
    case invalid(reason: String)
  }

  /// Checks the header of `bytes`, the content of the segment named with `sequence`.
  static func readHeader(_ bytes: [UInt8], sequence: UInt64) -> Header {
    guard bytes.count >= headerSize, bytes[0..<headerSize].contains(where: { $0 != 0 }) else {
      return .missing
    }
    guard bytes[0..<8].elementsEqual(magic) else { return .invalid(reason: "bad magic") }
    let stored = readBigEndian(bytes, at: 20, as: UInt32.self)
    guard CRC32C.checksum(bytes[0..<20]) == stored else {
      return .invalid(reason: "header checksum mismatch")
    }
    let version = readBigEndian(bytes, at: 8, as: UInt16.self)
    guard version == Self.version else {
      return .invalid(reason: "unsupported format version \(version)")
    }
    guard let kind = Kind(rawValue: readBigEndian(bytes, at: 10, as: UInt16.self)) else {
      return .invalid(reason: "unknown segment kind")
    }
    let inHeader = readBigEndian(bytes, at: 12, as: UInt64.self)
    guard inHeader == sequence else {
      return .invalid(reason: "header names sequence \(inHeader), file name \(sequence)")
    }
    return .valid(kind)
  }

  // MARK: - Frames

  /// The checksum of a frame of segment `sequence`.
  static func frameChecksum(sequence: UInt64, word: UInt32, payload: ArraySlice<UInt8>)
    -> UInt32
  {
    var crc = CRC32C()
    crc.update(bigEndian: sequence)
    crc.update(bigEndian: word)
    crc.update(payload)
    return crc.value
  }

  /// Appends the frame of `payload` (at most ``maxRecordLength`` bytes) for segment `sequence`.
  static func appendRecord(_ payload: [UInt8], sequence: UInt64, to buffer: inout [UInt8]) {
    let word = UInt32(payload.count)
    buffer.appendBigEndian(word)
    buffer.appendBigEndian(frameChecksum(sequence: sequence, word: word, payload: payload[...]))
    buffer.append(contentsOf: payload)
  }

  /// Appends the base-complete marker for segment `sequence`.
  static func appendBaseComplete(sequence: UInt64, to buffer: inout [UInt8]) {
    buffer.appendBigEndian(baseCompleteWord)
    buffer.appendBigEndian(frameChecksum(sequence: sequence, word: baseCompleteWord, payload: []))
  }

  /// The frames of one segment, as far as they verify.
  struct Scan: Sendable {
    /// The payload ranges of the records that verified, in order.
    var records: [Range<Int>] = []
    /// How many records precede the base-complete marker; `nil` if no marker was found.
    var baseRecordCount: Int?
    /// The end of the last frame that verified.
    var validEnd: Int
    /// Why the scan stopped before the end of the file, if it did.
    var stop: Stop?
  }

  /// Why a scan stopped early.
  enum Stop: Equatable, Sendable {
    /// The file ends inside the frame at `offset`.
    case truncated(offset: Int)
    /// The frame at `offset` does not verify and everything from it to the end is zero
    /// (space the file system allocated for a write that never arrived).
    case zeroTail(offset: Int)
    /// The frame at `offset` does not verify.
    case corrupt(offset: Int, reason: String)

    var offset: Int {
      switch self {
      case .truncated(let offset), .zeroTail(let offset), .corrupt(let offset, _): offset
      }
    }

    /// Whether this is what an interrupted append leaves (as opposed to damage).
    var isTorn: Bool {
      if case .corrupt = self { return false }
      return true
    }
  }

  /// Verifies the frames of `bytes` (a segment whose header is valid) from the header on.
  /// Never allocates based on a length read from the file.
  static func scan(_ bytes: [UInt8], sequence: UInt64, kind: Kind) -> Scan {
    var scan = Scan(validEnd: headerSize)
    var offset = headerSize
    while offset < bytes.count {
      let remaining = bytes.count - offset
      guard remaining >= frameHeaderSize else {
        scan.stop = .truncated(offset: offset)
        break
      }
      let word = readBigEndian(bytes, at: offset, as: UInt32.self)
      let stored = readBigEndian(bytes, at: offset + 4, as: UInt32.self)
      let payloadLength: Int
      if word == baseCompleteWord {
        payloadLength = 0
      } else if Int(word) <= maxRecordLength {
        payloadLength = Int(word)
      } else {
        scan.stop = .corrupt(
          offset: offset, reason: "record length \(word) exceeds the limit of \(maxRecordLength)")
        break
      }
      guard payloadLength <= remaining - frameHeaderSize else {
        scan.stop = .truncated(offset: offset)
        break
      }
      let payload = offset + frameHeaderSize..<offset + frameHeaderSize + payloadLength
      guard frameChecksum(sequence: sequence, word: word, payload: bytes[payload]) == stored else {
        if bytes[offset...].allSatisfy({ $0 == 0 }) {
          scan.stop = .zeroTail(offset: offset)
        } else {
          scan.stop = .corrupt(offset: offset, reason: "record checksum mismatch")
        }
        break
      }
      if word == baseCompleteWord {
        guard kind == .base, scan.baseRecordCount == nil else {
          scan.stop = .corrupt(offset: offset, reason: "unexpected base-complete marker")
          break
        }
        scan.baseRecordCount = scan.records.count
      } else {
        scan.records.append(payload)
      }
      offset = payload.upperBound
      scan.validEnd = offset
    }
    return scan
  }
}
