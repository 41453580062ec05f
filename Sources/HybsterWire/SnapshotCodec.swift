import HybsterCore
import NIOCore

/// The canonical byte form of a ``HybsterCore/CheckpointSnapshot`` that state
/// transfer ships in ``StateChunk``s (§5.2.2).
///
/// Layout (integers big-endian, `bytes` = `u32` length + raw bytes, as in
/// `docs/wire-format.md` §4.12):
///
///     order:u64 | serviceState:bytes | count:u32
///       | count × (client:u32 | lane:u32 | sequence:u64 | result:bytes)
///
/// Reply-cache entries appear in strictly increasing (client, lane) order, so each
/// snapshot has exactly one encoding; a decoder rejects any other order. Decoding is
/// total and bounded: every length is checked against the remaining input, and the
/// whole input against the snapshot cap, before anything is allocated for it. The
/// receiver still checks ``HybsterCore/CheckpointSnapshot/digest`` against the
/// stable checkpoint's digest before installing what it decoded.
public enum SnapshotCodec {
  /// 256 MiB: the default cap on an encoded snapshot.
  public static let defaultMaxBytes = 256 * 1024 * 1024

  static let entryFixedBytes = 4 + 4 + 8 + 4

  /// The length of `snapshot`'s encoding.
  public static func encodedLength(of snapshot: CheckpointSnapshot) -> Int {
    var total = 8 + 4 + snapshot.serviceState.count + 4
    for entry in snapshot.replies.entries.values {
      total += entryFixedBytes + entry.result.count
    }
    return total
  }

  /// Encodes `snapshot`.
  /// - Throws: ``WireError/fieldTooLarge(field:count:limit:)`` with field `snapshot`
  ///   if the encoding would exceed `maxBytes`, and with `snapshot.serviceState` or
  ///   `snapshot.replies.result` if a length does not fit its `u32` field.
  public static func encode(_ snapshot: CheckpointSnapshot, maxBytes: Int = defaultMaxBytes)
    throws(WireError) -> ByteBuffer
  {
    let length = encodedLength(of: snapshot)
    guard length <= maxBytes else {
      throw .fieldTooLarge(field: "snapshot", count: length, limit: maxBytes)
    }
    guard snapshot.serviceState.count <= Int(UInt32.max) else {
      throw .fieldTooLarge(
        field: "snapshot.serviceState", count: snapshot.serviceState.count,
        limit: Int(UInt32.max))
    }
    var buffer = ByteBufferAllocator().buffer(capacity: length)
    buffer.writeInteger(snapshot.order)
    buffer.writeInteger(UInt32(snapshot.serviceState.count))
    buffer.writeBytes(snapshot.serviceState)
    let entries = snapshot.replies.entries.sorted { $0.key < $1.key }
    buffer.writeInteger(UInt32(entries.count))
    for (lane, entry) in entries {
      guard entry.result.count <= Int(UInt32.max) else {
        throw .fieldTooLarge(
          field: "snapshot.replies.result", count: entry.result.count, limit: Int(UInt32.max))
      }
      buffer.writeInteger(lane.client)
      buffer.writeInteger(lane.lane)
      buffer.writeInteger(entry.sequence)
      buffer.writeInteger(UInt32(entry.result.count))
      buffer.writeBytes(entry.result)
    }
    return buffer
  }

  /// Decodes a snapshot from exactly the readable bytes of `buffer`.
  /// - Throws: the ``WireError`` of the first problem: `fieldTooLarge("snapshot")`
  ///   above `maxBytes`, `truncated(field)`, `notCanonical("snapshot.replies")` for
  ///   entries out of order or repeated, `trailingBytes` for bytes after the last
  ///   entry.
  public static func decode(_ buffer: ByteBuffer, maxBytes: Int = defaultMaxBytes)
    throws(WireError) -> CheckpointSnapshot
  {
    var buffer = buffer
    guard buffer.readableBytes <= maxBytes else {
      throw .fieldTooLarge(field: "snapshot", count: buffer.readableBytes, limit: maxBytes)
    }
    let order: OrderNumber = try buffer.readNumber("snapshot.order")
    let state = try buffer.readByteString("snapshot.serviceState", limit: maxBytes)
    let rawCount: UInt32 = try buffer.readWire("snapshot.replies")
    guard UInt64(rawCount) <= UInt64(buffer.readableBytes / entryFixedBytes) else {
      throw .truncated(field: "snapshot.replies")
    }
    var entries: [LaneKey: ReplyCache.Entry] = [:]
    entries.reserveCapacity(Int(rawCount))
    var previous: LaneKey?
    for _ in 0..<rawCount {
      let client: ClientID = try buffer.readWire("snapshot.replies.client")
      let laneNumber: UInt32 = try buffer.readWire("snapshot.replies.lane")
      let sequence: UInt64 = try buffer.readNumber("snapshot.replies.sequence")
      let result = try buffer.readByteString("snapshot.replies.result", limit: maxBytes)
      let lane = LaneKey(client: client, lane: laneNumber)
      if let previous, !(previous < lane) { throw .notCanonical(field: "snapshot.replies") }
      previous = lane
      entries[lane] = ReplyCache.Entry(sequence: sequence, result: result)
    }
    guard buffer.readableBytes == 0 else { throw .trailingBytes(count: buffer.readableBytes) }
    return CheckpointSnapshot(
      order: order, serviceState: state, replies: ReplyCache(entries: entries))
  }
}
