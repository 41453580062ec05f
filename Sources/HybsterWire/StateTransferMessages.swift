import HybsterCore

/// STATE-REQUEST (§5.2.2, state transfer): a replica that fell behind a stable
/// checkpoint asks one replica that vouched for it for the checkpoint's state.
///
/// A runtime message, not a protocol message: it carries no certificate. The state
/// that comes back is checked against the digest of f+1 matching CHECKPOINTs, so
/// neither a lying requester nor a lying responder can make a correct replica
/// accept a wrong state.
public struct StateRequest: Hashable, Sendable {
  /// The requesting replica.
  public var replica: ReplicaID
  /// The order number of the stable checkpoint whose state is wanted.
  public var order: OrderNumber

  /// Creates a request.
  public init(replica: ReplicaID, order: OrderNumber) {
    self.replica = replica
    self.order = order
  }
}

/// STATE-CHUNK (§5.2.2, state transfer): one consecutive piece of a checkpoint's
/// state, encoded by ``SnapshotCodec``. A responder sends the pieces in order of
/// `offset`, from 0 to `totalBytes`.
public struct StateChunk: Hashable, Sendable {
  /// The checkpoint's order number.
  public var order: OrderNumber
  /// The checkpoint digest the responder claims the state has.
  public var stateDigest: Digest
  /// The length of the whole encoded snapshot.
  public var totalBytes: UInt64
  /// Where `bytes` starts in the encoded snapshot.
  public var offset: UInt64
  /// The piece.
  public var bytes: [UInt8]

  /// Creates a chunk.
  public init(
    order: OrderNumber, stateDigest: Digest, totalBytes: UInt64, offset: UInt64, bytes: [UInt8]
  ) {
    self.order = order
    self.stateDigest = stateDigest
    self.totalBytes = totalBytes
    self.offset = offset
    self.bytes = bytes
  }
}
