/// Resending certified messages over an unreliable network (§5.2.2: messages are
/// delivered only "if sent sufficiently often"). A replica that made no progress
/// during a tick broadcasts a STATUS; peers answer with the certified messages it
/// lacks, at most once per tick per peer and at most ``retransmissionLimit``
/// instances per answer.
extension OrderingPillar {
  /// The most instances resent in answer to one STATUS.
  public static let retransmissionLimit: UInt64 = 64
  /// Ticks between repeated state-transfer requests while behind a stable checkpoint.
  static let stateTransferRepeatTicks: UInt64 = 20

  mutating func tick(into actions: inout [PillarAction]) {
    ticks += 1
    adoptLearnedCheckpoint(into: &actions)
    let progressed = nextDelivery != deliveredAtLastTick
    if !progressed {
      actions.append(
        .broadcast(.status(StatusMessage(replica: replica, view: view, nextDelivery: nextDelivery)))
      )
    }
    deliveredAtLastTick = nextDelivery
    if nextDelivery <= lowWaterMark, ticks % Self.stateTransferRepeatTicks == 0,
      let stable = checkpoints.stable
    {
      // Still behind the stable checkpoint: ask again (the transfer may have been
      // lost with a crash, a connection or a faulty source).
      actions.append(
        .stateTransferNeeded(
          order: stable.order, stateDigest: stable.stateDigest,
          from: stable.proof.map(\.replica).filter { $0 != replica }))
    }
    checkProgress(progressed: progressed, into: &actions)
    if isLeader, !pending.isEmpty { propose(force: true, into: &actions) }
  }

  mutating func receiveStatus(
    _ status: StatusMessage, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    guard status.replica == sender else {
      actions.append(
        .rejected(.senderMismatch(message: "STATUS", claimed: status.replica, sender: sender)))
      return
    }
    guard lastAnsweredStatus[sender] != ticks else { return }
    lastAnsweredStatus[sender] = ticks
    if status.view < view, let installed = viewChange.installed, installed.view == view {
      // The sender missed the NEW-VIEW of our view.
      actions.append(.send(.newView(installed), to: sender))
    }
    // The proof goes out whatever the peer's nextDelivery: a peer that executed past
    // our low water mark but lost the CHECKPOINTs still has its window stuck below
    // ours, and STATUS does not say where its window is. Receivers ignore it if stale.
    if let stable = checkpoints.stable {
      // The sender's own CHECKPOINT too: after losing its disk it may need it.
      for message in stable.proof {
        actions.append(.send(.checkpoint(message), to: sender))
      }
    }
    // Sorted, so that the core's output is a function of its inputs alone.
    for order in checkpoints.votes.keys.sorted() {
      if let own = checkpoints.vote(of: replica, at: order) {
        actions.append(.send(.checkpoint(own), to: sender))
      }
    }
    // Certified order messages are resent whatever the views: they carry their own
    // certificates, and a replica that left a view can still deliver what committed.
    let first = max(status.nextDelivery, lowWaterMark + 1)
    let last = min(highWaterMark, first + Self.retransmissionLimit - 1)
    guard first <= last else { return }
    for order in first...last {
      guard let slot = slots[order] else { continue }
      if let prepare = slot.prepare { actions.append(.send(.prepare(prepare), to: sender)) }
      for later in slot.laterPrepares { actions.append(.send(.prepare(later.prepare), to: sender)) }
      for follower in slot.commits.keys.sorted() where follower != sender {
        actions.append(.send(.commit(slot.commits[follower]!), to: sender))
      }
      if status.view < view, let earlier = slot.earlierCommit {
        // The sender is in an earlier view, maybe the one this committed in.
        actions.append(.send(.prepare(earlier.prepare), to: sender))
        for commit in earlier.commits.sorted(by: { $0.replica < $1.replica })
        where commit.replica != sender {
          actions.append(.send(.commit(commit), to: sender))
        }
      }
    }
  }
}
