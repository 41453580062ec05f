import Foundation
import Testing

@testable import HybsterRuntime

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Fresh directories and file surgery for the storage tests.
enum StorageFixture {
  /// A new, empty directory under the system temporary directory.
  static func directory() throws -> String {
    let path = NSTemporaryDirectory() + "hybster-storage-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  static func remove(_ directory: String) {
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// A deterministic record: `size` bytes derived from `index`.
  static func record(_ index: Int, size: Int = 20) -> [UInt8] {
    (0..<size).map { UInt8(truncatingIfNeeded: index &* 31 &+ $0 &* 7 &+ 1) }
  }

  /// The segment files of log `name` in `directory`, oldest first (full paths).
  static func segments(_ directory: String, name: String = "log") throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasPrefix(name + "-") && $0.hasSuffix(".log") }
      .sorted()
      .map { directory + "/" + $0 }
  }

  /// Every file name in `directory`, sorted.
  static func files(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
  }

  static func read(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  static func write(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  static func size(_ path: String) throws -> Int {
    try read(path).count
  }

  /// Opens `name` in `directory`, appends `records`, syncs once, and closes it.
  static func writeLog(
    _ directory: String, _ records: [[UInt8]], name: String = "log", segmentLimit: Int? = nil
  ) throws {
    let log = try RecordLog.open(
      directory: directory, name: name, durability: .fsync,
      segmentLimit: segmentLimit ?? RecordLog.defaultSegmentLimit)
    for record in records { try log.append(record) }
    try log.sync()
  }

  /// The recovered state of `name` in `directory` after reopening it.
  static func reopen(_ directory: String, name: String = "log", segmentLimit: Int? = nil)
    throws -> RecoveredLog
  {
    try RecordLog.open(
      directory: directory, name: name, durability: .fsync,
      segmentLimit: segmentLimit ?? RecordLog.defaultSegmentLimit
    ).recovered
  }
}
