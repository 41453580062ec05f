import TrInX

/// VIEW-CHANGE ⟨r, v_from, v_to, checkpoint, prepares⟩ (§5.2.3): replica `r` leaves
/// its view and supports the leader of `toView`.
///
/// Certified with a *continuing* certificate τ(r, 𝔒, [v_to|0], tv) on the ordering
/// counter: the previous value tv = [v|o_act] reveals the last order message `r` sent,
/// so it cannot hide the PREPAREs of its window up to o_act, and it can never send an
/// order message for a view below `toView` again.
public struct ViewChange: Hashable, Sendable {
  /// The sender.
  public var replica: ReplicaID
  /// The last view the sender accepted (entered with a valid NEW-VIEW, or 0).
  public var fromView: View
  /// The view the sender supports.
  public var toView: View
  /// The sender's stable checkpoint and its f+1 CHECKPOINTs (nil: none yet, order 0).
  public var checkpoint: StableCheckpoint?
  /// The PREPAREs of the sender's window it knows: at most one per order number
  /// (the one of the highest view), every one above the checkpoint.
  public var prepares: [Prepare]
  /// τ(r, 𝔒, [toView|0], tv) over ``ViewChange/certifiedDigest``.
  public var certificate: Certificate

  /// Creates a VIEW-CHANGE.
  public init(
    replica: ReplicaID, fromView: View, toView: View, checkpoint: StableCheckpoint?,
    prepares: [Prepare], certificate: Certificate
  ) {
    self.replica = replica
    self.fromView = fromView
    self.toView = toView
    self.checkpoint = checkpoint
    self.prepares = prepares
    self.certificate = certificate
  }

  /// The order number of the sender's stable checkpoint (0 if none).
  public var checkpointOrder: OrderNumber { checkpoint?.order ?? 0 }

  /// What the sender's TrInX certifies: every field, the PREPAREs by their
  /// certified content (each PREPARE carries its own certificate).
  public var certifiedDigest: Digest {
    Self.certifiedDigest(
      replica: replica, fromView: fromView, toView: toView, checkpoint: checkpoint,
      prepares: prepares)
  }

  /// What a VIEW-CHANGE's certificate covers.
  public static func certifiedDigest(
    replica: ReplicaID, fromView: View, toView: View, checkpoint: StableCheckpoint?,
    prepares: [Prepare]
  ) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.viewChange.rawValue)
    builder.append(replica)
    builder.append(fromView)
    builder.append(toView)
    builder.append(checkpoint?.order ?? 0)
    builder.append(checkpoint?.stateDigest ?? .zero)
    builder.append(UInt32(truncatingIfNeeded: prepares.count))
    for prepare in prepares {
      builder.append(prepare.view)
      builder.append(prepare.order)
      builder.append(prepare.batch.digest)
    }
    return builder.finalize()
  }
}

/// NEW-VIEW ⟨v, S, A, P⟩ from the leader of view `v` (§5.2.3): the new-view
/// certificate S (q VIEW-CHANGEs for `v`), the NEW-VIEW-ACKs A that, together with
/// S, show f+1 replicas accepted the view the new state is derived from, and the new
/// PREPAREs P re-proposing every assignment between the highest checkpoint and the
/// highest prepared order number (no-ops for gaps), each certified τ(l, 𝔒, [v|o], –).
/// A receiver recomputes P from S and A and accepts only an exact match.
public struct NewView: Hashable, Sendable {
  /// The new view.
  public var view: View
  /// The new-view certificate: q VIEW-CHANGEs for `view` from distinct replicas.
  public var viewChanges: [ViewChange]
  /// NEW-VIEW-ACKs standing in for VIEW-CHANGEs' `fromView`.
  public var acknowledgments: [NewViewAck]
  /// The re-proposals for the new view, in order.
  public var prepares: [Prepare]

  /// Creates a NEW-VIEW.
  public init(
    view: View, viewChanges: [ViewChange], acknowledgments: [NewViewAck], prepares: [Prepare]
  ) {
    self.view = view
    self.viewChanges = viewChanges
    self.acknowledgments = acknowledgments
    self.prepares = prepares
  }
}

/// NEW-VIEW-ACK ⟨r, v, P⟩ (§5.2.3): replica `r` accepted a valid NEW-VIEW for view
/// `v` after it had already left `v`, and learned its PREPAREs `P`. Certified with a
/// trusted MAC (no counter moves: a faulty replica could just as well omit it).
public struct NewViewAck: Hashable, Sendable {
  /// The sender.
  public var replica: ReplicaID
  /// The acknowledged view.
  public var view: View
  /// The PREPAREs of that view's NEW-VIEW.
  public var prepares: [Prepare]
  /// A trusted MAC τ(r, 𝔐, tv, tv) over ``NewViewAck/certifiedDigest``.
  public var certificate: Certificate

  /// Creates a NEW-VIEW-ACK.
  public init(replica: ReplicaID, view: View, prepares: [Prepare], certificate: Certificate) {
    self.replica = replica
    self.view = view
    self.prepares = prepares
    self.certificate = certificate
  }

  /// What the sender's TrInX certifies.
  public var certifiedDigest: Digest {
    Self.certifiedDigest(replica: replica, view: view, prepares: prepares)
  }

  /// What a NEW-VIEW-ACK's trusted MAC covers.
  public static func certifiedDigest(replica: ReplicaID, view: View, prepares: [Prepare])
    -> Digest
  {
    var builder = DigestBuilder(tag: DigestTag.newViewAck.rawValue)
    builder.append(replica)
    builder.append(view)
    builder.append(UInt32(truncatingIfNeeded: prepares.count))
    for prepare in prepares {
      builder.append(prepare.order)
      builder.append(prepare.batch.digest)
    }
    return builder.finalize()
  }
}
