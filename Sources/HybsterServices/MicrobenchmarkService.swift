import HybsterCore

/// The paper's microbenchmark service (§6.2): it ignores the request payload, does
/// no computation and returns a reply of a configurable size (zero bytes by
/// default), so that measurements show the cost of agreement alone.
///
/// Its state is the number of operations executed, so that checkpoints (§5.2.2)
/// still compare something that every correct replica must agree on.
public struct MicrobenchmarkService: ReplicatedService {
  /// The number of bytes of every reply.
  public let replySize: Int
  /// The number of operations executed so far.
  public private(set) var operationsExecuted: UInt64 = 0
  private let reply: [UInt8]

  /// The snapshot format version.
  public static let snapshotVersion: UInt8 = 1

  /// Creates the service; every reply carries `replySize` zero bytes.
  public init(replySize: Int = 0) {
    precondition(replySize >= 0, "reply size must not be negative")
    self.replySize = replySize
    self.reply = [UInt8](repeating: 0, count: replySize)
  }

  /// Counts the operation and returns the fixed-size reply; the payload is ignored.
  public mutating func execute(_ operation: [UInt8]) -> [UInt8] {
    operationsExecuted &+= 1
    return reply
  }

  /// `version:u8 | operationsExecuted:u64` (big-endian).
  public func snapshot() -> [UInt8] {
    var writer = ByteWriter()
    writer.append(Self.snapshotVersion)
    writer.append(operationsExecuted)
    return writer.bytes
  }

  /// Restores the operation count; throws ``ServiceDecodingError`` on malformed input
  /// and leaves the state unchanged.
  public mutating func restore(from snapshot: [UInt8]) throws {
    var reader = ByteReader(snapshot)
    let version = try reader.readByte()
    guard version == Self.snapshotVersion else {
      throw ServiceDecodingError.unsupportedVersion(version)
    }
    let count = try reader.read(UInt64.self)
    try reader.finish()
    operationsExecuted = count
  }
}
