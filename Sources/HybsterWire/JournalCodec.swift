import HybsterCore
import NIOCore
import TrInX

/// The byte form of a ``HybsterCore/PillarRecord`` in a replica's journal (issue 12).
///
/// Integers big-endian; messages are complete wire frames (`docs/wire-format.md`),
/// so the journal reuses the total, bounded decoder of the network:
///
///     kind:u8 = 1 | frame                      PREPARE, COMMIT, VIEW-CHANGE, NEW-VIEW
///     kind:u8 = 2 | entered:u64 | accepted:u64 | vouched:u64   views
///     kind:u8 = 3 | count:u32 | count × CHECKPOINT frame   stable checkpoint (its proof)
///     kind:u8 = 4 | high:u64 | low:u64                     ordering counter
///     kind:u8 = 5 | COMMIT frame                           another replica's vote
///
/// A stable checkpoint is stored as its f+1 CHECKPOINTs; decoding rebuilds it and
/// rejects a proof whose messages disagree. The storage engine checksums every
/// record; this codec still rejects anything malformed with a ``WireError``.
public enum JournalCodec {
  /// Encodes `record`.
  public static func encode(_ record: PillarRecord) -> [UInt8] {
    var buffer = ByteBufferAllocator().buffer(capacity: 64)
    switch record {
    case .prepare(let prepare): message(.prepare(prepare), into: &buffer)
    case .commit(let commit): message(.commit(commit), into: &buffer)
    case .viewChange(let viewChange): message(.viewChange(viewChange), into: &buffer)
    case .installed(let newView): message(.newView(newView), into: &buffer)
    case .views(let entered, let accepted, let vouched):
      buffer.writeInteger(UInt8(2))
      buffer.writeInteger(entered)
      buffer.writeInteger(accepted)
      buffer.writeInteger(vouched)
    case .stable(let checkpoint):
      buffer.writeInteger(UInt8(3))
      buffer.writeInteger(UInt32(checkpoint.proof.count))
      for vote in checkpoint.proof {
        WireCodec.encode(.protocolMessage(.checkpoint(vote)), into: &buffer)
      }
    case .counter(let value):
      buffer.writeInteger(UInt8(4))
      buffer.writeInteger(value.high)
      buffer.writeInteger(value.low)
    case .vote(let commit):
      buffer.writeInteger(UInt8(5))
      WireCodec.encode(.protocolMessage(.commit(commit)), into: &buffer)
    }
    return Array(buffer.readableBytesView)
  }

  private static func message(_ message: ProtocolMessage, into buffer: inout ByteBuffer) {
    buffer.writeInteger(UInt8(1))
    WireCodec.encode(.protocolMessage(message), into: &buffer)
  }

  /// Decodes one record; total: anything else is a ``WireError``.
  public static func decode(_ bytes: [UInt8]) throws(WireError) -> PillarRecord {
    var buffer = ByteBuffer(bytes: bytes)
    let kind: UInt8 = try buffer.readWire("journal.kind")
    let record: PillarRecord
    switch kind {
    case 1:
      switch try frame(&buffer) {
      case .protocolMessage(.prepare(let prepare)): record = .prepare(prepare)
      case .protocolMessage(.commit(let commit)): record = .commit(commit)
      case .protocolMessage(.viewChange(let viewChange)): record = .viewChange(viewChange)
      case .protocolMessage(.newView(let newView)): record = .installed(newView)
      default: throw .invalidEnumValue(field: "journal.message", value: kind)
      }
    case 2:
      record = .views(
        entered: try buffer.readNumber("journal.entered"),
        accepted: try buffer.readNumber("journal.accepted"),
        vouched: try buffer.readNumber("journal.vouched"))
    case 3:
      let count: UInt32 = try buffer.readWire("journal.stable.count")
      guard count > 0, count <= 4096 else {
        throw .fieldTooLarge(field: "journal.stable.count", count: Int(count), limit: 4096)
      }
      var proof: [CheckpointMessage] = []
      for _ in 0..<count {
        guard case .protocolMessage(.checkpoint(let vote)) = try frame(&buffer) else {
          throw .invalidEnumValue(field: "journal.stable.proof", value: kind)
        }
        proof.append(vote)
      }
      guard
        proof.allSatisfy({ $0.order == proof[0].order && $0.stateDigest == proof[0].stateDigest })
      else { throw .notCanonical(field: "journal.stable.proof") }
      record = .stable(
        StableCheckpoint(order: proof[0].order, stateDigest: proof[0].stateDigest, proof: proof))
    case 4:
      record = .counter(
        CounterValue(
          high: try buffer.readNumber("journal.counter.high"),
          low: try buffer.readNumber("journal.counter.low")))
    case 5:
      guard case .protocolMessage(.commit(let commit)) = try frame(&buffer) else {
        throw .invalidEnumValue(field: "journal.vote", value: kind)
      }
      record = .vote(commit)
    default:
      throw .invalidEnumValue(field: "journal.kind", value: kind)
    }
    guard buffer.readableBytes == 0 else { throw .trailingBytes(count: buffer.readableBytes) }
    return record
  }

  private static func frame(_ buffer: inout ByteBuffer) throws(WireError) -> WireMessage {
    guard let message = try WireCodec.decodeFrame(from: &buffer) else {
      throw .truncated(field: "journal.frame")
    }
    return message
  }
}
