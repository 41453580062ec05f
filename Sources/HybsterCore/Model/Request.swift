/// A client's REQUEST (§5.2.1 "certified REQUEST").
///
/// A client principal may run several independent *lanes*, each with at most one
/// request outstanding and strictly increasing sequence numbers; the replicas keep
/// the last reply of every lane so that a retransmitted request is answered without
/// being executed twice (exactly-once, §5.2.2 "vector of return values").
///
/// A request is authenticated in one of two ways (``ClientAuthMode``, issue 13):
/// with the client's Ed25519 ``signature``, which every replica can check, or with
/// an `authenticator` of one HMAC-SHA256 tag per replica, keyed with a key that only
/// the client and that replica share (``ClientKeyring``): no replica can forge the
/// tag another checks, but none can check another's either.
public struct Request: Hashable, Sendable {
  /// The client principal.
  public var client: ClientID
  /// The client's lane (an independent stream of requests).
  public var lane: UInt32
  /// The lane's sequence number; strictly increasing per lane.
  public var sequence: UInt64
  /// The service operation, opaque to the protocol.
  public var operation: [UInt8]
  /// One tag per replica over ``payloadDigest``, in replica order (`macs` mode);
  /// empty with signatures.
  public var authenticator: [AuthenticationTag]
  /// The client's signature over ``payloadDigest`` (`signatures` mode).
  public var signature: RequestSignature?

  /// Creates a request.
  public init(
    client: ClientID, lane: UInt32, sequence: UInt64, operation: [UInt8],
    authenticator: [AuthenticationTag], signature: RequestSignature? = nil
  ) {
    self.client = client
    self.lane = lane
    self.sequence = sequence
    self.operation = operation
    self.authenticator = authenticator
    self.signature = signature
  }

  /// The lane this request belongs to.
  public var key: LaneKey { LaneKey(client: client, lane: lane) }

  /// What the client authenticates: its id, lane, sequence number and operation.
  public var payloadDigest: Digest {
    var builder = DigestBuilder(tag: DigestTag.request.rawValue)
    builder.append(client)
    builder.append(lane)
    builder.append(sequence)
    builder.append(bytes: operation)
    return builder.finalize()
  }

  /// The request's identity in a batch: ``payloadDigest`` and, if it has one, its
  /// signature block. A PREPARE certifies its batch through these, so nobody can
  /// relay a certified PREPARE with a request's signature replaced — which would
  /// make one correct replica execute the request and another drop it.
  public var digest: Digest { digest(payload: payloadDigest) }

  /// ``digest`` from an already computed ``payloadDigest``.
  public func digest(payload: Digest) -> Digest {
    guard let signature else { return payload }
    var builder = DigestBuilder(tag: DigestTag.signedRequest.rawValue)
    builder.append(payload)
    signature.append(to: &builder)
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
  /// its length, the authenticator with its count, and the signature block.
  public var byteCount: Int {
    Self.fixedByteCount + operation.count + AuthenticationTag.byteCount * authenticator.count
      + (signature.map { Self.signatureByteCount(path: $0.path.count) } ?? 0)
  }

  /// The most bytes a request with an operation of `operation` bytes takes: a full
  /// authenticator for `replicas` replicas or a signature with the longest path.
  public static func byteCount(operation: Int, replicas: Int) -> Int {
    fixedByteCount + operation
      + max(
        AuthenticationTag.byteCount * replicas,
        signatureByteCount(path: RequestSignature.maxPathLength))
  }

  /// A signature block's bytes: signature (64), index (4), path count (1), path.
  static func signatureByteCount(path: Int) -> Int {
    RequestSignature.signatureByteCount + 5 + Digest.byteCount * path
  }

  /// client (4), lane (4), sequence (8), operation length (4), authenticator count
  /// (2), signature flag (1).
  static let fixedByteCount = 23
}
