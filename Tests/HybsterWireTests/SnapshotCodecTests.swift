import HybsterCore
import HybsterWire
import NIOCore
import Testing

@Suite("Snapshot codec (§5.2.2 state transfer)")
struct SnapshotCodecTests {
  static let snapshot = CheckpointSnapshot(
    order: 64, serviceState: Array("state bytes".utf8),
    replies: ReplyCache(entries: [
      LaneKey(client: 9, lane: 0): .init(sequence: 3, result: [1]),
      LaneKey(client: 2, lane: 5): .init(sequence: 1, result: []),
      LaneKey(client: 2, lane: 1): .init(sequence: 7, result: [4, 5, 6]),
    ]))

  static func bytes(_ snapshot: CheckpointSnapshot) throws -> [UInt8] {
    Array(try SnapshotCodec.encode(snapshot).readableBytesView)
  }

  @Test("a snapshot round-trips, keeps its digest, and has the documented length")
  func roundTrip() throws {
    for snapshot in [
      Self.snapshot, CheckpointSnapshot(order: 0, serviceState: [], replies: ReplyCache()),
    ] {
      let encoded = try SnapshotCodec.encode(snapshot)
      #expect(encoded.readableBytes == SnapshotCodec.encodedLength(of: snapshot))
      let decoded = try SnapshotCodec.decode(encoded)
      #expect(decoded == snapshot)
      #expect(decoded.digest == snapshot.digest)
    }
  }

  @Test("the encoding is canonical: entries in (client, lane) order, exact bytes")
  func canonicalLayout() throws {
    let bytes = try Self.bytes(Self.snapshot)
    var expected: [UInt8] = []
    expected += Fixtures.be(UInt64(64))
    expected += Fixtures.be(UInt32(11)) + Array("state bytes".utf8)
    expected += Fixtures.be(UInt32(3))
    expected += Fixtures.be(UInt32(2)) + Fixtures.be(UInt32(1)) + Fixtures.be(UInt64(7))
    expected += Fixtures.be(UInt32(3)) + [4, 5, 6]
    expected += Fixtures.be(UInt32(2)) + Fixtures.be(UInt32(5)) + Fixtures.be(UInt64(1))
    expected += Fixtures.be(UInt32(0))
    expected += Fixtures.be(UInt32(9)) + Fixtures.be(UInt32(0)) + Fixtures.be(UInt64(3))
    expected += Fixtures.be(UInt32(1)) + [1]
    #expect(bytes == expected)
  }

  @Test("every proper prefix is truncated and trailing bytes are rejected")
  func prefixesAndTrailing() throws {
    let bytes = try Self.bytes(Self.snapshot)
    for length in 0..<bytes.count {
      #expect(throws: (any Error).self) {
        try SnapshotCodec.decode(ByteBuffer(bytes: bytes[..<length]))
      }
      do {
        _ = try SnapshotCodec.decode(ByteBuffer(bytes: bytes[..<length]))
      } catch {
        #expect(error.isTruncated, "prefix \(length): \(error)")
      }
    }
    #expect(throws: WireError.trailingBytes(count: 1)) {
      try SnapshotCodec.decode(ByteBuffer(bytes: bytes + [0]))
    }
  }

  @Test("entries out of order or repeated are not canonical")
  func entriesOutOfOrder() throws {
    func entry(_ client: UInt32, _ lane: UInt32) -> [UInt8] {
      Fixtures.be(client) + Fixtures.be(lane) + Fixtures.be(UInt64(1)) + Fixtures.be(UInt32(0))
    }
    let header = Fixtures.be(UInt64(8)) + Fixtures.be(UInt32(0)) + Fixtures.be(UInt32(2))
    #expect(throws: WireError.notCanonical(field: "snapshot.replies")) {
      try SnapshotCodec.decode(ByteBuffer(bytes: header + entry(3, 0) + entry(2, 9)))
    }
    #expect(throws: WireError.notCanonical(field: "snapshot.replies")) {
      try SnapshotCodec.decode(ByteBuffer(bytes: header + entry(3, 1) + entry(3, 1)))
    }
    #expect(
      try SnapshotCodec.decode(ByteBuffer(bytes: header + entry(3, 1) + entry(3, 2))).order == 8)
  }

  @Test("the cap applies to the whole input and to lengths, before allocating")
  func caps() throws {
    let bytes = try Self.bytes(Self.snapshot)
    #expect(throws: WireError.fieldTooLarge(field: "snapshot", count: bytes.count, limit: 10)) {
      try SnapshotCodec.decode(ByteBuffer(bytes: bytes), maxBytes: 10)
    }
    #expect(
      throws: WireError.fieldTooLarge(
        field: "snapshot", count: bytes.count, limit: bytes.count - 1)
    ) {
      try SnapshotCodec.encode(Self.snapshot, maxBytes: bytes.count - 1)
    }
    // A huge length or count in a small input: rejected without allocating it.
    let hugeState = Fixtures.be(UInt64(1)) + Fixtures.be(UInt32.max)
    #expect(
      throws: WireError.fieldTooLarge(
        field: "snapshot.serviceState", count: Int(UInt32.max), limit: 1024)
    ) {
      try SnapshotCodec.decode(ByteBuffer(bytes: hugeState), maxBytes: 1024)
    }
    let hugeCount = Fixtures.be(UInt64(1)) + Fixtures.be(UInt32(0)) + Fixtures.be(UInt32.max)
    #expect(throws: WireError.truncated(field: "snapshot.replies")) {
      try SnapshotCodec.decode(ByteBuffer(bytes: hugeCount))
    }
  }

  @Test("random bytes decode or fail with a typed error", arguments: [1, 2, 3] as [UInt64])
  func randomBytes(seed: UInt64) {
    var random = SplitMix64(seed: seed)
    for _ in 0..<2_000 {
      let length = Int(random.next() % 64)
      let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
      do {
        let snapshot = try SnapshotCodec.decode(ByteBuffer(bytes: bytes))
        #expect(try Self.bytes(snapshot) == bytes)
      } catch {
        // Typed by construction: decode throws only WireError.
      }
    }
  }
}
