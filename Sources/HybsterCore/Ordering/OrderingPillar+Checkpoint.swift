import TrInX

/// Checkpointing and garbage collection (§5.2.2).
extension OrderingPillar {
  /// Whether `order` is a checkpoint order number.
  func isCheckpointOrder(_ order: OrderNumber) -> Bool {
    order % checkpointInterval == 0
  }

  /// The last stable checkpoint, if any.
  public var stableCheckpoint: StableCheckpoint? { checkpoints.stable }

  mutating func takeCheckpoint(
    order: OrderNumber, stateDigest: Digest, into actions: inout [PillarAction]
  ) {
    guard order > lowWaterMark, order <= highWaterMark, isCheckpointOrder(order) else { return }
    let certificate: Certificate
    do {
      certificate = try trinx.trustedMAC(
        counter: CounterLayout.checkpoint,
        message: CheckpointMessage.certifiedDigest(order: order, stateDigest: stateDigest))
    } catch {
      actions.append(.rejected(.trinxRefused("\(error)")))
      return
    }
    let message = CheckpointMessage(
      order: order, stateDigest: stateDigest, replica: replica, certificate: certificate)
    actions.append(.broadcast(.checkpoint(message)))
    recordCheckpoint(message, into: &actions)
  }

  mutating func receiveCheckpoint(
    _ message: CheckpointMessage, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    guard message.order > lowWaterMark else { return }  // already stable
    guard isCheckpointOrder(message.order) else {
      actions.append(
        .rejected(
          .outsideWindow(
            message: "CHECKPOINT", order: message.order, low: lowWaterMark,
            high: highWaterMark)))
      return
    }
    // Our own CHECKPOINT, relayed, counts as well: a replica that lost its journal
    // and snapshot (issue 12) may find f+1 votes for the stable checkpoint only with
    // the one it sent before (the others' proofs may hold it instead of their own).
    guard configuration.replicas.contains(message.replica) else {
      actions.append(
        .rejected(.senderMismatch(message: "CHECKPOINT", claimed: message.replica, sender: sender)))
      return
    }
    guard isValidCheckpointCertificate(message) else {
      actions.append(.rejected(.invalidCertificate(message: "CHECKPOINT", sender: sender)))
      return
    }
    if message.order > highWaterMark {
      // A replica more than a window behind must still learn that the others moved
      // on, or it never asks for state. Beyond the window only each replica's
      // highest vote is kept (n at most): learning is bounded, acting is not done.
      guard let stable = checkpoints.recordBeyondWindow(message, quorum: voteQuorum) else {
        return
      }
      stabilize(stable, into: &actions)
      return
    }
    recordCheckpoint(message, into: &actions)
  }

  /// Whether `message` carries a trusted MAC of its replica's checkpoint counter.
  func isValidCheckpointCertificate(_ message: CheckpointMessage) -> Bool {
    let certificate = message.certificate
    // Checkpoint c is run by pillar c mod P (§5.3.2): only that pillar's TrInX
    // instance certifies it.
    let owner = configuration.layout.checkpointPillar(
      ofLocal: message.order, interval: configuration.checkpointInterval)
    return certificate.issuer == configuration.trinxInstance(of: message.replica, pillar: owner)
      && certificate.counter == CounterLayout.checkpoint
      && certificate.isTrustedMAC
      && trinx.verify(
        certificate,
        message: CheckpointMessage.certifiedDigest(
          order: message.order, stateDigest: message.stateDigest))
  }

  /// State transfer installed the stable checkpoint at `order`: delivery resumes
  /// after it. Ignored unless it is the current stable checkpoint and we were behind.
  ///
  /// Requests the installed state executed are no longer awaited: this pillar never
  /// delivers them, and waiting for them would suspect a correct leader that only
  /// outran this replica (requests not executed stay awaited, for the next leader).
  mutating func stateTransferred(
    order: OrderNumber, executed: ReplyCache, into actions: inout [PillarAction]
  ) {
    for (ref, entry) in viewChange.awaited
    where executed[ref.lane].map({ $0.sequence >= ref.sequence }) ?? false {
      viewChange.awaited[ref] = nil
      viewChange.awaitedBytes -= entry.request.operation.count
    }
    guard order == lowWaterMark, nextDelivery <= order else { return }
    nextDelivery = order + 1
    deliverCommitted(into: &actions)
  }

  /// A checkpoint a sibling pillar made stable (§5.3.2), or that the replica's
  /// view-change preparation hands over (§5.3.3): adopted if newer and valid.
  ///
  /// Pillars run at slightly different speeds: a sibling often learns a checkpoint
  /// while this pillar's last instances before it are still committing. Adopting it
  /// at once would discard them and force a needless state transfer, so unless the
  /// view change needs it now (`waitForDelivery` false), a checkpoint beyond what
  /// this pillar delivered waits until it is delivered up to it, or for
  /// ``learnedCheckpointGraceTicks``.
  mutating func learnCheckpoint(
    _ checkpoint: StableCheckpoint, waitForDelivery: Bool, into actions: inout [PillarAction]
  ) {
    guard checkpoint.order > lowWaterMark else { return }
    guard isValidStableCheckpoint(checkpoint) else {
      actions.append(.rejected(.invalidCertificate(message: "CHECKPOINT", sender: replica)))
      return
    }
    if waitForDelivery, nextDelivery <= checkpoint.order {
      if checkpoint.order > learnedAhead?.checkpoint.order ?? 0 {
        learnedAhead = (checkpoint, ticks)
      }
      return
    }
    learnedAhead = nil
    stabilize(checkpoint, into: &actions)
  }

  /// How long a learned checkpoint waits for this pillar's own deliveries.
  static let learnedCheckpointGraceTicks: UInt64 = 4

  /// Adopts a waiting learned checkpoint once delivered up to it or out of time.
  mutating func adoptLearnedCheckpoint(into actions: inout [PillarAction]) {
    guard let (checkpoint, since) = learnedAhead else { return }
    guard checkpoint.order > lowWaterMark else {
      learnedAhead = nil
      return
    }
    guard nextDelivery > checkpoint.order || ticks - since >= Self.learnedCheckpointGraceTicks
    else { return }
    learnedAhead = nil
    stabilize(checkpoint, into: &actions)
  }

  mutating func recordCheckpoint(_ message: CheckpointMessage, into actions: inout [PillarAction]) {
    guard let stable = checkpoints.record(message, quorum: voteQuorum) else { return }
    stabilize(stable, into: &actions)
  }

  /// Makes `stable` the stable checkpoint: garbage collection, window move, and
  /// state transfer if this replica has not executed up to it (§5.2.2).
  mutating func stabilize(_ stable: StableCheckpoint, into actions: inout [PillarAction]) {
    let ownVote = checkpoints.vote(of: replica, at: stable.order)
    checkpoints.stabilize(stable)
    lowWaterMark = stable.order
    slots = slots.filter { $0.key > stable.order }
    actions.append(.checkpointStable(stable))
    if nextDelivery <= stable.order
      || (ownVote != nil && ownVote!.stateDigest != stable.stateDigest)
    {
      actions.append(
        .stateTransferNeeded(
          order: stable.order, stateDigest: stable.stateDigest,
          from: stable.proof.map(\.replica).filter { $0 != replica }))
    }
    if isLeader {
      nextProposal = max(nextProposal, lowWaterMark + 1)
      propose(force: false, into: &actions)
    } else {
      acknowledge(into: &actions)
    }
  }
}
