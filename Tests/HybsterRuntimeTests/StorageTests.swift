import Foundation
import Testing

@testable import HybsterRuntime

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

@Suite("Storage: the record log (issue 12)")
struct StorageTests {
  @Test("records survive closing and reopening, and appends continue after them")
  func roundTripAcrossReopen() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let first = (0..<5).map { StorageFixture.record($0) }
    try StorageFixture.writeLog(directory, first)
    let reopened = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    #expect(reopened.recovered.records == first)
    #expect(reopened.recovered.damage.isEmpty)
    #expect(reopened.recovered.baseRecordCount == 0)
    let second = (5..<8).map { StorageFixture.record($0, size: $0 * 100) }
    for record in second { try reopened.append(record) }
    try reopened.sync()
    let recovered = try StorageFixture.reopen(directory)
    #expect(recovered.records == first + second)
    #expect(recovered.damage.isEmpty)
    #expect(try StorageFixture.segments(directory).count == 1)
  }

  @Test("a group of many records costs one write call and one fdatasync")
  func manyRecordsOneSync() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    let records = (0..<1000).map { StorageFixture.record($0, size: $0 % 300) }
    let (syncs, writes, bytes) = (log.syncCount, log.writeCount, log.bytesWritten)
    for record in records { try log.append(record) }
    #expect(log.pendingCount == 1000)
    #expect(log.syncCount == syncs)
    try log.sync()
    #expect(log.syncCount == syncs + 1)
    #expect(log.writeCount == writes + 1)
    #expect(log.bytesWritten == bytes + UInt64(records.reduce(0) { $0 + 8 + $1.count }))
    #expect(log.pendingCount == 0)
    try log.sync()  // nothing buffered: no write, no sync
    #expect(log.syncCount == syncs + 1)
    #expect(try StorageFixture.reopen(directory).records == records)
  }

  @Test("records appended but never synced are lost, as in a crash")
  func unsyncedRecordsAreLost() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    do {
      let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      try log.append([1, 2, 3])
      try log.sync()
      try log.append([4, 5, 6])
    }
    let recovered = try StorageFixture.reopen(directory)
    #expect(recovered.records == [[1, 2, 3]])
    #expect(recovered.damage.isEmpty)
  }

  @Test("empty records round-trip; records over the limit are refused before any I/O")
  func recordSizes() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    try log.append([])
    try log.append([7])
    let tooLarge = [UInt8](repeating: 0, count: RecordLog.maxRecordLength + 1)
    #expect(throws: StorageError.recordTooLarge(length: tooLarge.count, limit: 64 << 20)) {
      try log.append(tooLarge)
    }
    #expect(!log.isFailed)
    try log.sync()
    #expect(try StorageFixture.reopen(directory).records == [[], [7]])
  }

  @Test("durability none writes without fdatasync and still recovers after a process exit")
  func durabilityNone() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(directory: directory, name: "log", durability: .none)
    for index in 0..<10 { try log.append(StorageFixture.record(index)) }
    try log.sync()
    try log.startBase([[9]])
    try log.append([10])
    try log.sync()
    #expect(log.syncCount == 0)
    #expect(log.writeCount > 0)
    let recovered = try RecordLog.open(directory: directory, name: "log", durability: .none)
      .recovered
    #expect(recovered.records == [[9], [10]])
    #expect(Durability.allCases == [.fsync, .none])
    #expect(Durability(rawValue: "none") == Durability.none)
  }

  @Test("a segment beyond its size limit rolls over; recovery concatenates the chain")
  func rollOverConcatenatesChain() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(
      directory: directory, name: "log", durability: .fsync, segmentLimit: 200)
    var expected: [[UInt8]] = []
    for index in 0..<40 {
      let record = StorageFixture.record(index, size: 30)
      try log.append(record)
      expected.append(record)
      if index % 3 == 0 { try log.sync() }
    }
    try log.sync()
    let segments = try StorageFixture.segments(directory)
    #expect(segments.count > 5)
    #expect(log.segmentSequence == UInt64(segments.count))
    for segment in segments.dropLast() { #expect(try StorageFixture.size(segment) <= 200) }
    let recovered = try StorageFixture.reopen(directory, segmentLimit: 200)
    #expect(recovered.records == expected)
    #expect(recovered.damage.isEmpty)
  }

  @Test("a base replaces the chain: older segments are deleted, the base is replayed first")
  func baseGarbageCollects() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(
      directory: directory, name: "log", durability: .fsync, segmentLimit: 200)
    for index in 0..<30 {
      try log.append(StorageFixture.record(index, size: 30))
      try log.sync()
    }
    #expect(try StorageFixture.segments(directory).count > 3)
    try log.append([0xAA])  // buffered; synced into the old chain before the base
    let base = [[UInt8]([1, 1]), [2, 2], [], [3, 3, 3]]
    try log.startBase(base)
    #expect(log.cleanupError == nil)
    let segments = try StorageFixture.segments(directory)
    #expect(segments == [log.segmentPath])
    try log.append([4])
    try log.sync()
    let recovered = try StorageFixture.reopen(directory, segmentLimit: 200)
    #expect(recovered.records == base + [[4]])
    #expect(recovered.baseRecordCount == base.count)
    #expect(recovered.damage.isEmpty)
  }

  @Test("a leftover older chain (crash while deleting it after a base) is removed on open")
  func leftoverOlderChainIsRemoved() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    try StorageFixture.writeLog(directory, [[1], [2]])
    let oldSegment = try #require(try StorageFixture.segments(directory).first)
    let oldBytes = try StorageFixture.read(oldSegment)
    do {
      let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      try log.startBase([[9]])
    }
    try StorageFixture.write(oldSegment, oldBytes)
    #expect(try StorageFixture.segments(directory).count == 2)
    let recovered = try StorageFixture.reopen(directory)
    #expect(recovered.records == [[9]])
    #expect(recovered.damage.isEmpty)
    #expect(try StorageFixture.segments(directory).count == 1)
  }

  @Test("a failed write truncates back to the synced size and fails the log")
  func failedWriteTruncatesAndFails() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    let synced = (0..<3).map { StorageFixture.record($0) }
    for record in synced { try log.append(record) }
    try log.sync()
    let size = try StorageFixture.size(log.segmentPath)
    try log.append(StorageFixture.record(3))
    try log.append(StorageFixture.record(4))
    log.injectedWriteFault = (bytes: 13, errno: ENOSPC)
    do {
      try log.sync()
      Issue.record("sync succeeded despite the injected failure")
    } catch {
      #expect(error == .io(path: log.segmentPath, operation: "write", errno: ENOSPC))
      #expect(error.description.contains("disk full"))
    }
    #expect(log.isFailed)
    #expect(try StorageFixture.size(log.segmentPath) == size)
    #expect(throws: StorageError.failed(path: log.segmentPath)) { try log.append([1]) }
    #expect(throws: StorageError.failed(path: log.segmentPath)) { try log.sync() }
    #expect(throws: StorageError.failed(path: log.segmentPath)) { try log.startBase([]) }
    let recovered = try StorageFixture.reopen(directory)
    #expect(recovered.records == synced)
    #expect(recovered.damage.isEmpty)
  }

  @Test("a failed base write leaves the previous chain and fails the log")
  func failedBaseKeepsPreviousChain() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    let log = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
    try log.append([1])
    try log.sync()
    log.injectedWriteFault = (bytes: 30, errno: EIO)
    #expect(throws: StorageError.self) { try log.startBase([[5, 5, 5], [6, 6, 6]]) }
    #expect(log.isFailed)
    let recovered = try StorageFixture.reopen(directory)
    #expect(recovered.records == [[1]])
    #expect(recovered.damage.isEmpty)
  }

  @Test("log names that cannot be file names are refused")
  func invalidNames() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    for name in ["", "a/b"] {
      #expect(throws: StorageError.invalidName(name)) {
        _ = try RecordLog.open(directory: directory, name: name, durability: .fsync)
      }
    }
  }

  @Test("two logs with different names share a directory without interfering")
  func logsShareDirectory() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    try StorageFixture.writeLog(directory, [[1]], name: "a")
    try StorageFixture.writeLog(directory, [[2]], name: "a-0000000000000001")
    #expect(try StorageFixture.reopen(directory, name: "a").records == [[1]])
    #expect(try StorageFixture.reopen(directory, name: "a-0000000000000001").records == [[2]])
  }

  @Test("I/O errors describe the cause readably")
  func errorDescriptions() {
    let full = StorageError.io(path: "/d/f", operation: "write", errno: ENOSPC)
    #expect(full.description.hasPrefix("write /d/f failed: disk full"))
    for code in [EACCES, EPERM] {
      let denied = StorageError.io(path: "/d", operation: "open", errno: code)
      #expect(denied.description.contains("permission denied"))
    }
    let other = StorageError.io(path: "/d", operation: "fsync", errno: EIO)
    #expect(other.description.contains("errno \(EIO)"))
  }

  @Test(
    "a read-only directory gives a readable permission error",
    .enabled(if: getuid() != 0, "root ignores file permissions"))
  func permissionDenied() throws {
    let directory = try StorageFixture.directory()
    defer {
      chmod(directory, 0o700)
      StorageFixture.remove(directory)
    }
    #expect(chmod(directory, 0o500) == 0)
    do {
      _ = try RecordLog.open(directory: directory, name: "log", durability: .fsync)
      Issue.record("opened a log in a read-only directory")
    } catch {
      guard case .io(_, _, let code) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(code == EACCES)
      #expect(error.description.contains("permission denied"))
    }
    let store = try SnapshotStore(directory: directory, prefix: "state", durability: .fsync)
    #expect(throws: StorageError.self) { try store.write(order: 1, bytes: [1]) }
    do {
      try store.write(order: 1, bytes: [1])
    } catch {
      #expect(error.description.contains("permission denied"))
    }
  }
}
