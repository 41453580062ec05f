import Foundation
import Testing

@testable import HybsterRuntime

@Suite("Storage: recovering a damaged record log (issue 12)")
struct StorageRecoveryTests {
  let records = (0..<5).map { StorageFixture.record($0) }

  /// Writes `records` to a fresh log and returns the directory and the segment's bytes.
  func writtenLog() throws -> (directory: String, segment: String, bytes: [UInt8]) {
    let directory = try StorageFixture.directory()
    try StorageFixture.writeLog(directory, records)
    let segment = try #require(try StorageFixture.segments(directory).first)
    return (directory, segment, try StorageFixture.read(segment))
  }

  /// The offset of record `index` in a single-segment log of `records` (an empty base and
  /// its marker come first).
  func offset(ofRecord index: Int) -> Int {
    LogSegmentFormat.headerSize + LogSegmentFormat.frameHeaderSize
      + records[..<index].reduce(0) { $0 + LogSegmentFormat.frameHeaderSize + $1.count }
  }

  @Test("a tail torn at every byte of the last record: the prefix is recovered and appendable")
  func tornTailAtEveryOffset() throws {
    let (directory, segment, bytes) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    let start = offset(ofRecord: 4)
    #expect(bytes.count == start + LogSegmentFormat.frameHeaderSize + records[4].count)
    for cut in start..<bytes.count {
      try StorageFixture.write(segment, Array(bytes[..<cut]))
      let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      #expect(log.recovered.records == Array(records[..<4]), "cut at \(cut)")
      let torn: [StorageDamage] =
        cut == start ? [] : [.tornTail(path: segment, offset: UInt64(start))]
      #expect(log.recovered.damage == torn, "cut at \(cut)")
      #expect(try StorageFixture.size(segment) == start)
      try log.append([0xEE, UInt8(truncatingIfNeeded: cut)])
      try log.sync()
      let again = try StorageFixture.reopen(directory)
      #expect(again.records == records[..<4] + [[0xEE, UInt8(truncatingIfNeeded: cut)]])
      #expect(again.damage.isEmpty)
    }
  }

  @Test("a zero-filled tail (space allocated for a write that never landed) is a torn tail")
  func zeroFilledTail() throws {
    let (directory, segment, bytes) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    try StorageFixture.write(segment, bytes + [UInt8](repeating: 0, count: 4096))
    let recovered = try StorageFixture.reopen(directory)
    #expect(recovered.records == records)
    #expect(recovered.damage == [.tornTail(path: segment, offset: UInt64(bytes.count))])
  }

  @Test("a flipped bit in the middle record: only the records before it, reported corrupt")
  func flippedBitInMiddle() throws {
    let (directory, segment, bytes) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    let middle = offset(ofRecord: 2)
    let positions = [
      middle + 4,  // the checksum
      middle + LogSegmentFormat.frameHeaderSize,  // the first payload byte
      middle + LogSegmentFormat.frameHeaderSize + records[2].count - 1,  // the last one
    ]
    for position in positions {
      var damaged = bytes
      damaged[position] ^= 0x10
      try StorageFixture.write(segment, damaged)
      let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      #expect(log.recovered.records == Array(records[..<2]))
      #expect(
        log.recovered.damage == [
          .corrupt(path: segment, offset: UInt64(middle), reason: "record checksum mismatch")
        ])
      // The damaged bytes are kept aside; the segment is cut before the damage.
      #expect(try StorageFixture.read(segment + ".corrupt") == damaged)
      #expect(try StorageFixture.size(segment) == middle)
      try log.append([0xEE])
      try log.sync()
      let again = try StorageFixture.reopen(directory)
      #expect(again.records == records[..<2] + [[0xEE]])
      #expect(again.damage.isEmpty)
    }
  }

  @Test("a record length field claiming 4 GiB is corruption, never an allocation")
  func hugeLengthField() throws {
    let (directory, segment, bytes) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    for word: [UInt8] in [[0xFF, 0xFF, 0xFF, 0xFF], [0x04, 0x00, 0x00, 0x01]] {
      var damaged = bytes
      let at = offset(ofRecord: 1)
      damaged.replaceSubrange(at..<at + 4, with: word)
      try StorageFixture.write(segment, damaged)
      let recovered = try StorageFixture.reopen(directory)
      #expect(recovered.records == [records[0]])
      #expect(recovered.damage.count == 1)
      guard case .corrupt(let path, let offset, let reason) = recovered.damage.first else {
        Issue.record("expected corruption, got \(recovered.damage)")
        continue
      }
      #expect(path == segment && offset == UInt64(at))
      #expect(reason.contains("exceeds the limit"))
      try StorageFixture.write(segment, bytes)
    }
  }

  @Test("a record copied from another segment does not verify")
  func recordFromAnotherSegment() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(
      directory: directory, name: "log", durability: .fsync, segmentLimit: 100)
    for index in 0..<4 {
      try log.append(StorageFixture.record(index, size: 40))
      try log.sync()
    }
    let segments = try StorageFixture.segments(directory)
    #expect(segments.count >= 2)
    let first = try StorageFixture.read(segments[0])
    let frame = Array(first[(LogSegmentFormat.headerSize + 8)...].prefix(8 + 40))
    let lastBytes = try StorageFixture.read(segments[segments.count - 1])
    try StorageFixture.write(segments[segments.count - 1], lastBytes + frame)
    let recovered = try StorageFixture.reopen(directory, segmentLimit: 100)
    #expect(recovered.records == (0..<4).map { StorageFixture.record($0, size: 40) })
    #expect(
      recovered.damage == [
        .corrupt(
          path: segments[segments.count - 1], offset: UInt64(lastBytes.count),
          reason: "record checksum mismatch")
      ])
  }

  @Test("a corrupted header of the only segment: nothing recovered, the log starts afresh")
  func corruptedOnlySegmentHeader() throws {
    let (directory, segment, bytes) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    var damaged = bytes
    damaged[14] ^= 0x01  // inside the sequence number
    try StorageFixture.write(segment, damaged)
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    #expect(log.recovered.records.isEmpty)
    #expect(
      log.recovered.damage == [
        .corrupt(path: segment, offset: 0, reason: "header checksum mismatch")
      ])
    #expect(try StorageFixture.read(segment + ".corrupt") == damaged)
    try log.append([1])
    try log.sync()
    let again = try StorageFixture.reopen(directory)
    #expect(again.records == [[1]])
    #expect(again.damage.isEmpty)
  }

  @Test("a corrupted header in the middle of a chain: the chain ends before it")
  func corruptedMiddleSegmentHeader() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(
      directory: directory, name: "log", durability: .fsync, segmentLimit: 100)
    for index in 0..<6 {
      try log.append(StorageFixture.record(index, size: 40))
      try log.sync()
    }
    let segments = try StorageFixture.segments(directory)
    #expect(segments.count >= 3)
    var header = try StorageFixture.read(segments[1])
    header[0] = UInt8(ascii: "X")
    try StorageFixture.write(segments[1], header)
    let inFirst = try StorageFixture.reopen(directory, segmentLimit: 100)
    // Segment 1 holds the empty base, its marker and the first record.
    #expect(inFirst.records == [StorageFixture.record(0, size: 40)])
    var expected: [StorageDamage] = [.corrupt(path: segments[1], offset: 0, reason: "bad magic")]
    for later in segments[2...] {
      expected.append(
        .corrupt(path: later, offset: 0, reason: "follows damaged segment \(segments[1])"))
    }
    #expect(inFirst.damage == expected)
    #expect(try StorageFixture.segments(directory) == [segments[0]])
  }

  @Test("a missing segment in the middle of a chain ends it")
  func missingSegment() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(
      directory: directory, name: "log", durability: .fsync, segmentLimit: 100)
    for index in 0..<6 {
      try log.append(StorageFixture.record(index, size: 40))
      try log.sync()
    }
    let segments = try StorageFixture.segments(directory)
    try FileManager.default.removeItem(atPath: segments[1])
    let recovered = try StorageFixture.reopen(directory, segmentLimit: 100)
    #expect(recovered.records == [StorageFixture.record(0, size: 40)])
    #expect(recovered.damage.first?.path == segments[2])
    #expect(recovered.damage.count == segments.count - 2)
  }

  @Test("a crash during a new base (no completion mark) falls back to the previous chain")
  func crashDuringNewBase() throws {
    let (directory, _, _) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    // What startBase leaves when it dies before the marker: header and base records.
    let sequence: UInt64 = 2
    var partial = LogSegmentFormat.header(kind: .base, sequence: sequence)
    for record in [[UInt8]]([[9, 9], [8, 8]]) {
      LogSegmentFormat.appendRecord(record, sequence: sequence, to: &partial)
    }
    let path = directory + "/" + LogSegmentFormat.fileName(name: "log", sequence: sequence)
    try StorageFixture.write(path, partial)
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    #expect(log.recovered.records == records)
    #expect(log.recovered.damage == [.incompleteBase(path: path)])
    #expect(!FileManager.default.fileExists(atPath: path))
    try log.append([7])
    try log.sync()
    #expect(try StorageFixture.reopen(directory).records == records + [[7]])
  }

  @Test("a base interrupted at every byte recovers the previous chain; a whole one, itself")
  func baseInterruptedAtEveryByte() throws {
    let (directory, oldSegment, oldBytes) = try writtenLog()
    defer { StorageFixture.remove(directory) }
    let base = [[UInt8]([1, 2, 3]), [4, 5], StorageFixture.record(9, size: 50)]
    do {
      let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      try log.startBase(base)
    }
    let newSegment = try #require(try StorageFixture.segments(directory).last)
    #expect(newSegment != oldSegment)
    let newBytes = try StorageFixture.read(newSegment)
    for cut in 0...newBytes.count {
      for file in try StorageFixture.files(directory) {
        try FileManager.default.removeItem(atPath: directory + "/" + file)
      }
      try StorageFixture.write(oldSegment, oldBytes)
      try StorageFixture.write(newSegment, Array(newBytes[..<cut]))
      let recovered = try StorageFixture.reopen(directory)
      if cut == newBytes.count {
        #expect(recovered.records == base)
        #expect(recovered.baseRecordCount == base.count)
        #expect(recovered.damage.isEmpty)
        #expect(try StorageFixture.segments(directory) == [newSegment])
      } else {
        #expect(recovered.records == records, "cut at \(cut)")
        let expected: StorageDamage =
          cut < LogSegmentFormat.headerSize
          ? .tornTail(path: newSegment, offset: 0) : .incompleteBase(path: newSegment)
        #expect(recovered.damage == [expected], "cut at \(cut)")
        #expect(try StorageFixture.segments(directory) == [oldSegment])
      }
    }
  }

  @Test("a base whose own records are damaged is corrupt; nothing older survives to use")
  func damagedBaseWithoutOlderChain() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    do {
      let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      try log.startBase([[1, 2, 3, 4], [5, 6, 7, 8]])
      try log.append([9])
      try log.sync()
    }
    let segment = try #require(try StorageFixture.segments(directory).first)
    var bytes = try StorageFixture.read(segment)
    bytes[LogSegmentFormat.headerSize + 8] ^= 0xFF  // the first base record
    try StorageFixture.write(segment, bytes)
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    #expect(log.recovered.records.isEmpty)
    #expect(
      log.recovered.damage == [
        .corrupt(
          path: segment, offset: UInt64(LogSegmentFormat.headerSize),
          reason: "record checksum mismatch")
      ])
    try log.append([1])
    try log.sync()
    #expect(try StorageFixture.reopen(directory).records == [[1]])
  }
}
