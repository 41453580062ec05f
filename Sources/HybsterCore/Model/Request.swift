/// A client's REQUEST (§5.2.1 "certified REQUEST").
///
/// A client principal may run several independent *lanes*, each with at most one
/// request outstanding and strictly increasing sequence numbers; the replicas keep
/// the last reply of every lane so that a retransmitted request is answered without
/// being executed twice (exactly-once, §5.2.2 "vector of return values").
///
/// `authenticator` holds one HMAC-SHA256 tag per replica, keyed with a key that
/// only the client and that replica know (see ``ClientKeyring``): no replica, a
/// Byzantine leader included, can forge the tag another replica checks.
public struct Request: Hashable, Sendable {
  /// The client principal.
  public var client: ClientID
  /// The client's lane (an independent stream of requests).
  public var lane: UInt32
  /// The lane's sequence number; strictly increasing per lane.
  public var sequence: UInt64
  /// The service operation, opaque to the protocol.
  public var operation: [UInt8]
  /// One tag per replica over ``digest``, in replica order.
  public var authenticator: [AuthenticationTag]

  /// Creates a request.
  public init(
    client: ClientID, lane: UInt32, sequence: UInt64, operation: [UInt8],
    authenticator: [AuthenticationTag]
  ) {
    self.client = client
    self.lane = lane
    self.sequence = sequence
    self.operation = operation
    self.authenticator = authenticator
  }

  /// The lane this request belongs to.
  public var key: LaneKey { LaneKey(client: client, lane: lane) }

  /// The digest that the authenticator tags and batches are built from.
  public var digest: Digest {
    var builder = DigestBuilder(tag: DigestTag.request.rawValue)
    builder.append(client)
    builder.append(lane)
    builder.append(sequence)
    builder.append(bytes: operation)
    return builder.finalize()
  }
}

/// Identifies one lane of one client: the unit of exactly-once execution.
public struct LaneKey: Hashable, Sendable, Comparable {
  /// The client principal.
  public var client: ClientID
  /// The lane.
  public var lane: UInt32

  /// Creates a lane key.
  public init(client: ClientID, lane: UInt32) {
    self.client = client
    self.lane = lane
  }

  public static func < (lhs: LaneKey, rhs: LaneKey) -> Bool {
    (lhs.client, lhs.lane) < (rhs.client, rhs.lane)
  }
}

extension Request {
  /// The bytes a request takes on the wire, inside a batch or alone
  /// (docs/wire-format.md, section 4.3): client, lane, sequence, the operation with
  /// its length, and the authenticator with its count.
  public var byteCount: Int {
    Self.fixedByteCount + operation.count + AuthenticationTag.byteCount * authenticator.count
  }

  /// The bytes of a request with an operation of `operation` bytes and a full
  /// authenticator for `replicas` replicas.
  public static func byteCount(operation: Int, replicas: Int) -> Int {
    fixedByteCount + operation + AuthenticationTag.byteCount * replicas
  }

  /// client (4), lane (4), sequence (8), operation length (4), authenticator count (2).
  static let fixedByteCount = 22
}
