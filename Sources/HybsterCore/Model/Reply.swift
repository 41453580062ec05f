/// REPLY from a replica to a client (§5.2.1). The client accepts a result once it
/// holds f+1 matching replies from distinct replicas.
public struct Reply: Hashable, Sendable {
  /// The client principal.
  public var client: ClientID
  /// The lane.
  public var lane: UInt32
  /// The sequence number of the request answered.
  public var sequence: UInt64
  /// The replying replica.
  public var replica: ReplicaID
  /// The view the replica was in (a hint for the client where to send next).
  public var view: View
  /// The service's result.
  public var result: [UInt8]
  /// HMAC-SHA256 with the client–replica key over ``Reply/digest``.
  public var tag: AuthenticationTag

  /// Creates a reply.
  public init(
    client: ClientID, lane: UInt32, sequence: UInt64, replica: ReplicaID, view: View,
    result: [UInt8], tag: AuthenticationTag
  ) {
    self.client = client
    self.lane = lane
    self.sequence = sequence
    self.replica = replica
    self.view = view
    self.result = result
    self.tag = tag
  }

  /// The digest the tag covers (everything but the tag).
  public var digest: Digest {
    Self.digest(
      client: client, lane: lane, sequence: sequence, replica: replica, view: view, result: result)
  }

  /// The digest of a reply's fields.
  public static func digest(
    client: ClientID, lane: UInt32, sequence: UInt64, replica: ReplicaID, view: View,
    result: [UInt8]
  ) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.reply.rawValue)
    builder.append(client)
    builder.append(lane)
    builder.append(sequence)
    builder.append(replica)
    builder.append(view)
    builder.append(bytes: result)
    return builder.finalize()
  }
}
