import HybsterCore

/// REFUSED: a replica's answer on a client connection to what it will not take
/// (issue 13: a refused request is not met with silence). After a refusal of the
/// handshake or of a frame the replica closes the connection; after a refusal of a
/// request it keeps it open.
public struct Refusal: Hashable, Sendable {
  /// Why the replica refused.
  public enum Reason: UInt8, Hashable, Sendable, CaseIterable {
    /// The HELLO's client id is not admitted by this group.
    case unknownClient = 1
    /// The PROOF does not match the admitted keys of the HELLO's client id.
    case invalidProof = 2
    /// A request carries another client id than the connection's.
    case wrongClient = 3
    /// A request's operation exceeds the group's `maxOperationSize`.
    case operationTooLarge = 4
    /// A request's lane is not below the group's `maxLanesPerClient`.
    case laneOutOfRange = 5
    /// A frame that does not decode, or not a request.
    case malformedFrame = 6
  }

  /// The refused request's lane (0 for a handshake or frame refusal).
  public var lane: UInt32
  /// The refused request's sequence number (0 for a handshake or frame refusal).
  public var sequence: UInt64
  /// Why.
  public var reason: Reason
  /// A human-readable explanation, UTF-8, at most ``maxDetailBytes`` bytes.
  public var detail: String

  /// The longest detail on the wire.
  public static let maxDetailBytes = 255

  /// A refusal; `detail` is cut to ``maxDetailBytes`` bytes.
  public init(lane: UInt32 = 0, sequence: UInt64 = 0, reason: Reason, detail: String) {
    self.lane = lane
    self.sequence = sequence
    self.reason = reason
    let bytes = Array(detail.utf8.prefix(Self.maxDetailBytes))
    self.detail = String(decoding: bytes, as: UTF8.self)
    // A cut inside a UTF-8 sequence decodes to U+FFFD, which may be longer.
    if self.detail.utf8.count > Self.maxDetailBytes {
      self.detail = String(decoding: bytes.prefix(Self.maxDetailBytes - 3), as: UTF8.self)
    }
  }

  /// The bytes of its detail on the wire.
  var detailBytes: [UInt8] { Array(detail.utf8) }
}
