/// Resending certified messages over an unreliable network (§5.2.2: messages are
/// delivered only "if sent sufficiently often"). A replica that made no progress
/// during a tick broadcasts a STATUS; peers answer with the certified messages it
/// lacks, at most once per tick per peer and at most ``retransmissionLimit``
/// instances per answer.
extension OrderingPillar {
  /// The most instances resent in answer to one STATUS.
  public static let retransmissionLimit: UInt64 = 64

  mutating func tick(into actions: inout [PillarAction]) {
    ticks += 1
    if nextDelivery == deliveredAtLastTick {
      actions.append(
        .broadcast(.status(StatusMessage(replica: replica, view: view, nextDelivery: nextDelivery)))
      )
    }
    deliveredAtLastTick = nextDelivery
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
    guard status.view == view, lastAnsweredStatus[sender] != ticks else { return }
    lastAnsweredStatus[sender] = ticks
    // `<= low + 1`: a peer that executed exactly up to our stable checkpoint may
    // not know it is stable, and we discarded our vote for it: without the proof
    // its window never moves (found by the simulator, seed 20).
    if status.nextDelivery <= lowWaterMark + 1, let stable = checkpoints.stable {
      for message in stable.proof { actions.append(.send(.checkpoint(message), to: sender)) }
    }
    for (_, votes) in checkpoints.votes {
      if let own = votes[replica] { actions.append(.send(.checkpoint(own), to: sender)) }
    }
    let first = max(status.nextDelivery, lowWaterMark + 1)
    let last = min(highWaterMark, first + Self.retransmissionLimit - 1)
    guard first <= last else { return }
    for order in first...last {
      guard let slot = slots[order] else { continue }
      if let prepare = slot.prepare { actions.append(.send(.prepare(prepare), to: sender)) }
      for commit in slot.commits.values where commit.replica != sender {
        actions.append(.send(.commit(commit), to: sender))
      }
    }
  }
}
