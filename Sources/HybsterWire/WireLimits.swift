/// The bounds a receiver enforces on every frame it decodes (§5.2: replicas and
/// clients talk over an unreliable network with possibly Byzantine peers, so no
/// length read off the wire may make a receiver allocate more than these bounds).
///
/// Every limit is checked *before* the bytes it covers are buffered or allocated.
/// ``WireLimits/default`` is the deployment-wide constant; a deployment that changes
/// a limit must change it on every replica and client.
public struct WireLimits: Hashable, Sendable {
  /// The largest value of a frame's `length` field (the bytes after the length
  /// field: version, type and payload).
  public let maxFrameLength: Int
  /// The most requests in one PREPARE's batch.
  public let maxBatchCount: Int
  /// The most tags in one request's authenticator (one per replica).
  public let maxAuthenticatorEntries: Int
  /// The most bytes in a request's operation or a reply's result.
  public let maxPayloadBytes: Int
  /// The most PREPAREs in one view-change message: a VIEW-CHANGE's window, a
  /// NEW-VIEW's re-proposals, a NEW-VIEW-ACK's learned PREPAREs (§5.2.3).
  public let maxViewChangePrepares: Int
  /// The most VIEW-CHANGEs, and separately the most NEW-VIEW-ACKs, in one NEW-VIEW
  /// (at most one of each per replica).
  public let maxNewViewEntries: Int
  /// The most CHECKPOINTs proving the stable checkpoint of a VIEW-CHANGE (f+1
  /// are needed; at most one per replica).
  public let maxCheckpointProofEntries: Int

  /// 16 MiB: the largest operation or result.
  public static let defaultMaxPayloadBytes = 16 * 1024 * 1024
  /// 65,536 requests per batch.
  public static let defaultMaxBatchCount = 65_536
  /// 255 authenticator entries (replicas).
  public static let defaultMaxAuthenticatorEntries = 255
  /// 65,536 PREPAREs per view-change message, as many as requests per batch.
  public static let defaultMaxViewChangePrepares = 65_536
  /// 255 VIEW-CHANGEs or NEW-VIEW-ACKs per NEW-VIEW (replicas).
  public static let defaultMaxNewViewEntries = 255
  /// 255 CHECKPOINTs per checkpoint proof (replicas).
  public static let defaultMaxCheckpointProofEntries = 255
  /// 16 MiB + 64 KiB: a request with the largest operation and a full
  /// authenticator, or a reply with the largest result, fits with room to spare.
  public static let defaultMaxFrameLength = defaultMaxPayloadBytes + 64 * 1024

  /// The limits every Hybster replica and client uses unless configured otherwise.
  public static let `default` = WireLimits()

  /// The limits before a connection's peer proved its identity: a HELLO or a PROOF
  /// (at most 34 bytes after the length field), nothing larger (issue 11: a stranger
  /// cannot make a replica buffer a 16 MiB frame).
  public static let handshake = WireLimits(maxFrameLength: 64)

  /// Creates limits.
  ///
  /// - Precondition: every limit is representable in the field that carries the
  ///   count on the wire (`maxAuthenticatorEntries`, `maxNewViewEntries` and
  ///   `maxCheckpointProofEntries` ≤ 65,535; the others ≤ 2³²−1) and
  ///   `maxFrameLength` ≥ 2 (a frame holds at least its version and type).
  public init(
    maxFrameLength: Int = defaultMaxFrameLength,
    maxBatchCount: Int = defaultMaxBatchCount,
    maxAuthenticatorEntries: Int = defaultMaxAuthenticatorEntries,
    maxPayloadBytes: Int = defaultMaxPayloadBytes,
    maxViewChangePrepares: Int = defaultMaxViewChangePrepares,
    maxNewViewEntries: Int = defaultMaxNewViewEntries,
    maxCheckpointProofEntries: Int = defaultMaxCheckpointProofEntries
  ) {
    precondition((2...Int(UInt32.max)).contains(maxFrameLength), "maxFrameLength out of range")
    precondition((0...Int(UInt32.max)).contains(maxBatchCount), "maxBatchCount out of range")
    precondition(
      (0...Int(UInt16.max)).contains(maxAuthenticatorEntries),
      "maxAuthenticatorEntries out of range")
    precondition((0...Int(UInt32.max)).contains(maxPayloadBytes), "maxPayloadBytes out of range")
    precondition(
      (0...Int(UInt32.max)).contains(maxViewChangePrepares), "maxViewChangePrepares out of range")
    precondition(
      (0...Int(UInt16.max)).contains(maxNewViewEntries), "maxNewViewEntries out of range")
    precondition(
      (0...Int(UInt16.max)).contains(maxCheckpointProofEntries),
      "maxCheckpointProofEntries out of range")
    self.maxFrameLength = maxFrameLength
    self.maxBatchCount = maxBatchCount
    self.maxAuthenticatorEntries = maxAuthenticatorEntries
    self.maxPayloadBytes = maxPayloadBytes
    self.maxViewChangePrepares = maxViewChangePrepares
    self.maxNewViewEntries = maxNewViewEntries
    self.maxCheckpointProofEntries = maxCheckpointProofEntries
  }
}
