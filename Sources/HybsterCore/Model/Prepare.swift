import TrInX

/// PREPARE ⟨v, o, batch⟩ from the leader of view `v` (§5.2.1).
///
/// Certified with an independent certificate τ(l, 𝔒, [v|o], –) on the ordering
/// counter of the leader's TrInX instance, so the leader can create only one valid
/// PREPARE per (v, o): equivocation is prevented, not merely detected.
public struct Prepare: Hashable, Sendable {
  /// The view.
  public var view: View
  /// The order number.
  public var order: OrderNumber
  /// The proposed requests.
  public var batch: Batch
  /// τ(l, 𝔒, [v|o], –) over ``Prepare/certifiedDigest(view:order:batchDigest:)``.
  public var certificate: Certificate

  /// Creates a PREPARE.
  public init(view: View, order: OrderNumber, batch: Batch, certificate: Certificate) {
    self.view = view
    self.order = order
    self.batch = batch
    self.certificate = certificate
  }

  /// What the leader's TrInX certifies for a PREPARE.
  public static func certifiedDigest(view: View, order: OrderNumber, batchDigest: Digest) -> Digest
  {
    orderMessageDigest(.prepare, view: view, order: order, batchDigest: batchDigest)
  }
}

/// COMMIT ⟨v, o, d, r⟩ from follower `r`, acknowledging the PREPARE for (v, o) with
/// batch digest `d` (§5.2.1). Certified with τ(r, 𝔒, [v|o], –) so that a follower,
/// too, sends at most one order message per instance.
public struct Commit: Hashable, Sendable {
  /// The view.
  public var view: View
  /// The order number.
  public var order: OrderNumber
  /// The digest of the acknowledged batch.
  public var batchDigest: Digest
  /// The sending follower.
  public var replica: ReplicaID
  /// τ(r, 𝔒, [v|o], –) over ``Commit/certifiedDigest(view:order:batchDigest:)``.
  public var certificate: Certificate

  /// Creates a COMMIT.
  public init(
    view: View, order: OrderNumber, batchDigest: Digest, replica: ReplicaID,
    certificate: Certificate
  ) {
    self.view = view
    self.order = order
    self.batchDigest = batchDigest
    self.replica = replica
    self.certificate = certificate
  }

  /// What a follower's TrInX certifies for a COMMIT.
  public static func certifiedDigest(view: View, order: OrderNumber, batchDigest: Digest) -> Digest
  {
    orderMessageDigest(.commit, view: view, order: order, batchDigest: batchDigest)
  }
}

/// The digest an order message certifies: its type tag, (v, o) and the batch digest.
func orderMessageDigest(
  _ tag: DigestTag, view: View, order: OrderNumber, batchDigest: Digest
) -> Digest {
  var builder = DigestBuilder(tag: tag.rawValue)
  builder.append(view)
  builder.append(order)
  builder.append(batchDigest)
  return builder.finalize()
}
