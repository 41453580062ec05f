import TrInX

/// Checks of view-change messages (§5.2.3). A message that fails any of them is
/// dropped and changes nothing.
extension OrderingPillar {
  /// Whether `message`, one part of a split VIEW-CHANGE, NEW-VIEW or NEW-VIEW-ACK
  /// (§5.3.3), passes every check this pillar makes before acting on it. Depends
  /// only on the configuration and the group key, never on the pillar's state.
  public func isValidViewChangePart(_ message: ProtocolMessage) -> Bool {
    guard message.numbersInRange else { return false }
    return switch message {
    case .viewChange(let m): isValidViewChange(m)
    case .newView(let m): validNewViewPlan(m) != nil
    case .newViewAck(let m): isValidNewViewAck(m)
    default: false
    }
  }

  /// Whether `prepare` is a valid PREPARE of its view: certified τ(l, 𝔒, [v|o], –) by
  /// the leader of its view over its batch.
  func isValidPrepare(_ prepare: Prepare) -> Bool {
    isValidOrderCertificate(
      prepare.certificate, from: leader(of: prepare.view), view: prepare.view,
      order: prepare.order,
      certified: Prepare.certifiedDigest(
        view: prepare.view, order: prepare.order, batchDigest: prepare.batch.digest))
  }

  /// Whether `checkpoint` is proven by f+1 matching, valid CHECKPOINTs.
  func isValidStableCheckpoint(_ checkpoint: StableCheckpoint) -> Bool {
    guard isCheckpointOrder(checkpoint.order), checkpoint.order > 0 else { return false }
    var signers = Set<ReplicaID>()
    for message in checkpoint.proof {
      guard message.order == checkpoint.order, message.stateDigest == checkpoint.stateDigest,
        configuration.replicas.contains(message.replica),
        signers.insert(message.replica).inserted, isValidCheckpointCertificate(message)
      else { return false }
    }
    return signers.count >= voteQuorum
  }

  /// Whether `viewChange` is valid (§5.2.3):
  /// - its continuing certificate moves the sender's ordering counter from its
  ///   previous value [v|o_act] to [v_to|0];
  /// - if the sender sent order messages in view v (o_act > 0), it vouches for v (or
  ///   a later view), o_act lies within its checkpoint's window and, unless it
  ///   vouches for a later view, it includes a PREPARE of view v for every order
  ///   number from its checkpoint up to o_act;
  /// - its checkpoint is proven by f+1 CHECKPOINTs;
  /// - its PREPAREs are valid, of views up to `fromView` (a correct replica
  ///   propagates no PREPARE of a view it does not know was established), in
  ///   strictly increasing order, inside its checkpoint's window.
  func isValidViewChange(_ viewChange: ViewChange) -> Bool {
    let certificate = viewChange.certificate
    guard configuration.replicas.contains(viewChange.replica),
      certificate.issuer == configuration.trinxInstance(of: viewChange.replica, pillar: pillar),
      certificate.counter == CounterLayout.ordering,
      let previous = certificate.previousValue,
      certificate.newValue == CounterLayout.flattened(view: viewChange.toView, order: 0),
      previous.high < viewChange.toView, viewChange.fromView < viewChange.toView
    else { return false }
    let low = viewChange.checkpointOrder
    // It sent order messages in view previous.high, which it must have accepted; it
    // may have accepted, or learned of, a later view since without sending anything
    // in it. After a VIEW-CHANGE ([h|0]) any `fromView` is possible: it may accept
    // or learn of views above h without sending anything in them.
    if previous.low > 0 {
      guard viewChange.fromView >= previous.high,
        previous.low <= low || previous.low - low <= windowSize
      else { return false }
    }
    if let checkpoint = viewChange.checkpoint, !isValidStableCheckpoint(checkpoint) {
      return false
    }
    var lastOrder = low
    var covered = Set<OrderNumber>()
    let admitUnvouched = injectedFaults.contains(.unvouchedPrepares)
    for prepare in viewChange.prepares {
      guard prepare.order > lastOrder, prepare.order - low <= windowSize,
        prepare.view < viewChange.toView,
        admitUnvouched || prepare.view <= viewChange.fromView, isValidPrepare(prepare)
      else { return false }
      lastOrder = prepare.order
      if prepare.view == previous.high { covered.insert(prepare.order) }
    }
    // If it still is in the view of its last order message, it must reveal every
    // PREPARE of that view up to it. If it accepted a later view since, that view's
    // NEW-VIEW already carried all that may have committed before, and its PREPAREs
    // supersede the older ones (a false claim of a later view is caught by the
    // new-view certificate rule: f+1 must vouch for that view).
    if viewChange.fromView == previous.high, previous.low > low,
      !injectedFaults.contains(.acceptHidingViewChange)
    {
      for order in (low + 1)...previous.low where !covered.contains(order) { return false }
    }
    return trinx.verify(certificate, message: viewChange.certifiedDigest)
  }

  /// Whether `ack` carries its sender's trusted MAC and valid PREPAREs of its view.
  func isValidNewViewAck(_ ack: NewViewAck) -> Bool {
    let certificate = ack.certificate
    guard configuration.replicas.contains(ack.replica),
      certificate.issuer == configuration.trinxInstance(of: ack.replica, pillar: pillar),
      certificate.counter == CounterLayout.checkpoint, certificate.isTrustedMAC
    else { return false }
    var lastOrder: OrderNumber = 0
    for prepare in ack.prepares {
      guard prepare.view == ack.view, prepare.order > lastOrder, isValidPrepare(prepare) else {
        return false
      }
      lastOrder = prepare.order
    }
    return trinx.verify(certificate, message: ack.certifiedDigest)
  }

  /// The new-view certificate rule: q valid VIEW-CHANGEs for the view from distinct
  /// replicas, and f+1 replicas (VIEW-CHANGEs with that `fromView`, or NEW-VIEW-ACKs)
  /// vouching that the highest `fromView` among them was a properly established view.
  func isValidNewViewCertificate(
    view: View, viewChanges: [ViewChange], acknowledgments: [NewViewAck]
  ) -> Bool {
    var senders = Set<ReplicaID>()
    for viewChange in viewChanges {
      guard viewChange.toView == view, senders.insert(viewChange.replica).inserted else {
        return false
      }
    }
    guard senders.count >= configuration.quorum else { return false }
    let base = viewChanges.map(\.fromView).max() ?? 0
    var vouching = Set(viewChanges.filter { $0.fromView == base }.map(\.replica))
    var ackers = Set<ReplicaID>()
    for ack in acknowledgments {
      guard ack.view == base, ackers.insert(ack.replica).inserted else { return false }
      vouching.insert(ack.replica)
    }
    return base == 0 || vouching.count >= configuration.quorum
  }
}
