import TrInX

/// CHECKPOINT ⟨o, d, r⟩ (§5.2.2): replica `r` reached state digest `d` after
/// executing order number `o`. `d` covers the service state *and* the vector of
/// every lane's last reply. Certified with a trusted MAC on the checkpoint counter;
/// checkpoints are not subject to equivocation, so uniqueness is not needed.
public struct CheckpointMessage: Hashable, Sendable {
  /// The order number after whose execution the checkpoint was taken.
  public var order: OrderNumber
  /// The digest of the service state and the reply vector.
  public var stateDigest: Digest
  /// The sender.
  public var replica: ReplicaID
  /// A trusted MAC τ(r, 𝔐, tv, tv) over ``CheckpointMessage/certifiedDigest(order:stateDigest:)``.
  public var certificate: Certificate

  /// Creates a CHECKPOINT.
  public init(order: OrderNumber, stateDigest: Digest, replica: ReplicaID, certificate: Certificate)
  {
    self.order = order
    self.stateDigest = stateDigest
    self.replica = replica
    self.certificate = certificate
  }

  /// What a replica's TrInX certifies for a CHECKPOINT.
  public static func certifiedDigest(order: OrderNumber, stateDigest: Digest) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.checkpoint.rawValue)
    builder.append(order)
    builder.append(stateDigest)
    return builder.finalize()
  }
}
