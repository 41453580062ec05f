import Foundation
import Testing

@testable import HybsterRuntime

@Suite("Storage: snapshots (issue 12)")
struct StorageSnapshotTests {
  let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 13) }

  @Test("a snapshot round-trips through a new store instance")
  func roundTrip() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    try SnapshotStore(directory: directory, prefix: "state").write(order: 7, bytes: payload)
    var store = try SnapshotStore(directory: directory, prefix: "state")
    let latest = try #require(try store.latest())
    #expect(latest.order == 7 && latest.bytes == payload)
    #expect(store.damage.isEmpty)
    #expect(try StorageFixture.files(directory) == ["state-00000000000000000007.snap"])
  }

  @Test("an empty directory has no snapshot; an empty snapshot round-trips")
  func emptyCases() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    var store = try SnapshotStore(directory: directory, prefix: "state", durability: .none)
    #expect(try store.latest() == nil)
    try store.write(order: UInt64.max, bytes: [])
    let latest = try #require(try store.latest())
    #expect(latest.order == UInt64.max && latest.bytes.isEmpty)
  }

  @Test("only the newest two snapshots are kept")
  func keepsNewestTwo() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    var store = try SnapshotStore(directory: directory, prefix: "state")
    for order in UInt64(1)...5 { try store.write(order: order * 10, bytes: [UInt8(order)]) }
    #expect(try store.orders() == [50, 40])
    #expect(try store.latest()?.bytes == [5])
  }

  /// Simulator seed 670002643 (`--power-cut`): after a power cut the only replica
  /// with the group's stable checkpoint had kept just its two newest snapshots, both
  /// after it, and the replicas behind could never fetch the stable one.
  @Test("the snapshot of the last stable checkpoint and every newer one are kept")
  func keepsFromStable() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    var store = try SnapshotStore(directory: directory, prefix: "state")
    for order in UInt64(1)...5 {
      try store.write(order: order * 10, bytes: [UInt8(order)], keepingFrom: 20)
    }
    #expect(try store.orders() == [50, 40, 30, 20])
    #expect(try store.verified(olderThan: 50).map(\.order) == [40, 30, 20])
    try store.write(order: 60, bytes: [6], keepingFrom: 50)
    #expect(try store.orders() == [60, 50])
  }

  @Test("a corrupted newest snapshot is set aside and the older one returned")
  func corruptedNewestFallsBack() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    var store = try SnapshotStore(directory: directory, prefix: "state")
    try store.write(order: 1, bytes: [1, 1, 1])
    try store.write(order: 2, bytes: payload)
    let newest = store.path(of: 2)
    var bytes = try StorageFixture.read(newest)
    bytes[SnapshotFormat.headerSize + 500] ^= 0x04
    try StorageFixture.write(newest, bytes)
    let latest = try #require(try store.latest())
    #expect(latest.order == 1 && latest.bytes == [1, 1, 1])
    #expect(
      store.damage == [
        .corrupt(
          path: newest, offset: UInt64(SnapshotFormat.headerSize),
          reason: "payload checksum mismatch")
      ])
    #expect(!FileManager.default.fileExists(atPath: newest))
    #expect(try StorageFixture.read(newest + ".corrupt") == bytes)
  }

  @Test("a truncated snapshot file (in the header or the payload) is skipped")
  func truncatedSnapshot() throws {
    for cut in [0, 20, SnapshotFormat.headerSize, SnapshotFormat.headerSize + 999] {
      let directory = try StorageFixture.directory()
      defer { StorageFixture.remove(directory) }
      var store = try SnapshotStore(directory: directory, prefix: "state")
      try store.write(order: 1, bytes: [1])
      try store.write(order: 2, bytes: payload)
      let newest = store.path(of: 2)
      try StorageFixture.write(newest, Array(try StorageFixture.read(newest)[..<cut]))
      #expect(try store.latest()?.order == 1, "cut at \(cut)")
      #expect(store.damage.count == 1)
      #expect(store.damage.first?.path == newest)
    }
  }

  @Test("a corrupted header, or a file renamed to another order, does not verify")
  func headerChecks() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    var store = try SnapshotStore(directory: directory, prefix: "state")
    try store.write(order: 1, bytes: [1])
    try store.write(order: 2, bytes: [2])
    try FileManager.default.moveItem(atPath: store.path(of: 2), toPath: store.path(of: 3))
    var bytes = try StorageFixture.read(store.path(of: 1))
    bytes[9] ^= 1
    try StorageFixture.write(store.path(of: 1), bytes)
    #expect(try store.latest() == nil)
    #expect(
      store.damage.map(\.description) == [
        "\(store.path(of: 3)) at 0: corrupt: header names order 2, file name 3",
        "\(store.path(of: 1)) at 0: corrupt: header checksum mismatch",
      ])
  }

  @Test("a temporary file left by a crash during a write is removed on open")
  func leftoverTemporaryFile() throws {
    let directory = try StorageFixture.directory()
    defer { StorageFixture.remove(directory) }
    var store = try SnapshotStore(directory: directory, prefix: "state")
    try store.write(order: 1, bytes: [1])
    try StorageFixture.write(store.path(of: 2) + ".tmp", [0, 1, 2])
    try StorageFixture.write(directory + "/unrelated.tmp", [0])
    store = try SnapshotStore(directory: directory, prefix: "state")
    #expect(
      try StorageFixture.files(directory) == ["state-00000000000000000001.snap", "unrelated.tmp"])
    #expect(try store.latest()?.order == 1)
  }
}
