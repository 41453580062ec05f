import TrInX

/// PREPARE and COMMIT handling and in-order delivery (§5.2.1).
extension OrderingPillar {
  mutating func receivePrepare(
    _ prepare: Prepare, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    // PREPAREs of earlier views are stale. PREPAREs of later views (a view change
    // this replica missed or left) are kept apart, for delivery only: with f+1
    // matching votes of that view the instance is committed, whatever view we are in.
    guard prepare.view >= view else {
      actions.append(.rejected(.wrongView(message: "PREPARE", view: prepare.view, current: view)))
      return
    }
    // The leader is alive (its connection proved who it is), even if this replica
    // is too far behind to take the PREPARE.
    if prepare.view == view, sender == leader { viewChange.leaderHeardAtTick = ticks }
    guard prepare.order > lowWaterMark else { return }  // stale: already checkpointed
    guard prepare.order <= highWaterMark else {
      actions.append(
        .rejected(
          .outsideWindow(
            message: "PREPARE", order: prepare.order, low: lowWaterMark, high: highWaterMark)))
      return
    }
    let known =
      [slots[prepare.order]?.prepare].compactMap { $0 }
      + (slots[prepare.order]?.laterPrepares.map(\.prepare) ?? [])
    if let existing = known.first(where: { $0.view == prepare.view }) {
      // One valid PREPARE per (v, o) exists; anything else is forged.
      if existing.certificate != prepare.certificate {
        actions.append(.rejected(.conflictingPrepare(order: prepare.order)))
      }
      return
    }
    let later = prepare.view > view
    // A leader holds its own PREPAREs, except one that lost its journal (issue 12):
    // it takes back those relayed to it like a follower, to deliver the instances
    // once committed.
    guard !(isLeader && !later && !startedOver) else { return }
    let batchBytes = prepare.batch.byteCount
    guard prepare.batch.requests.count <= configuration.maxBatchSize,
      batchBytes <= configuration.maxBatchBytes
    else {
      actions.append(.rejected(.batchTooLarge(count: prepare.batch.requests.count)))
      return
    }
    let leader = leader(of: prepare.view)
    var requestDigests: [Digest] = []
    var payloads: [Digest] = []
    requestDigests.reserveCapacity(prepare.batch.requests.count)
    payloads.reserveCapacity(prepare.batch.requests.count)
    for request in prepare.batch.requests {
      if let refusal = configuration.refusal(of: request) {
        actions.append(.rejected(refusal))
        return
      }
      let payload = request.payloadDigest
      payloads.append(payload)
      requestDigests.append(request.digest(payload: payload))
    }
    let batchDigest = Batch.digest(ofRequestDigests: requestDigests)
    guard
      injectedFaults.contains(.skipPrepareCertificateCheck)
        || isValidOrderCertificate(
          prepare.certificate, from: leader, view: prepare.view, order: prepare.order,
          certified: Prepare.certifiedDigest(
            view: prepare.view, order: prepare.order, batchDigest: batchDigest))
    else {
      actions.append(.rejected(.invalidCertificate(message: "PREPARE", sender: sender)))
      return
    }
    // A leader must not be able to invent requests: check each one (its signature,
    // or with MACs our own tag). A request we cannot authenticate gets no COMMIT
    // from us, but the certified PREPARE is kept: if f+1 others (one of them
    // correct, so one that did authenticate it) commit it, we deliver it too. A
    // Byzantine client that tags only some replicas correctly must not knock a
    // correct follower out of the order.
    let unauthenticated = zip(prepare.batch.requests, payloads).first {
      !clients.mayOrder($0, payload: $1)
    }?.0
    if let request = unauthenticated {
      actions.append(.rejected(.clientAuthentication(request.key, sequence: request.sequence)))
    }
    if slots[prepare.order]?.delivered == true { return }
    // A correct leader keeps within the window byte budget, and this replica holds
    // no PREPARE of this view the leader did not send: one beyond it is faulty.
    let overBudget =
      !later && batchBytes > 0
      && heldBytes(inIntervalOf: prepare.order) + batchBytes > configuration.intervalByteBudget
    if overBudget {
      actions.append(.rejected(.overByteBudget(order: prepare.order, bytes: batchBytes)))
    }
    var slot = slots[prepare.order] ?? Slot()
    if later {
      slot.keepLater(prepare, digest: batchDigest)
    } else {
      slot.abstain = unauthenticated != nil || overBudget
      slot.authenticated = unauthenticated == nil
      slot.prepare = prepare
      slot.batchDigest = batchDigest
      slot.batchBytes = batchBytes
      slot.requestDigests = requestDigests
      journal(.prepare(prepare), into: &actions)
    }
    slots[prepare.order] = slot
    if configuration.pillarCount > 1, !later, prepare.order > reportedProposals {
      // Siblings learn how far this pillar's leader proposed: one that this replica
      // leads (rotating leaders) fills its gaps below; one that a leader fails to
      // fill counts it as outstanding work and suspects that leader in time.
      reportedProposals = prepare.order
      actions.append(.proposedThrough(prepare.order))
    }
    acknowledge(into: &actions)
    deliverCommitted(into: &actions)
  }

  /// Journals the other replicas' COMMITs that made `prepare` committed (see
  /// ``PillarRecord/vote(_:)``).
  mutating func journalVotes(
    for prepare: Prepare, in slot: Slot, into actions: inout [PillarAction]
  ) {
    let digest =
      prepare.view == slot.prepare?.view
      ? slot.batchDigest : slot.laterPrepares.first { $0.prepare.view == prepare.view }?.batchDigest
    for voter in slot.commits.keys.sorted() where voter != replica {
      let vote = slot.commits[voter]!
      if vote.view == prepare.view, vote.batchDigest == digest {
        journal(.vote(vote), into: &actions)
      }
    }
  }

  /// The first request this replica may not order (not authentic, or of a revoked
  /// client), if any: a batch with one gets no COMMIT from us (§5.2.1).
  mutating func firstUnauthenticated(_ requests: [Request]) -> Request? {
    requests.first { !clients.mayOrder($0, payload: $0.payloadDigest) }
  }

  /// Sends COMMITs for consecutive prepared instances: a follower's independent
  /// certificates must increase, so it never skips an instance it could still join.
  mutating func acknowledge(into actions: inout [PillarAction]) {
    guard !isLeader, !isChangingView else { return }
    var order = max(lastAcknowledged, lowWaterMark) + 1
    while order <= highWaterMark, let slot = slots[order], let batchDigest = slot.batchDigest,
      slot.prepare?.view == view, slot.commits[replica] == nil
    {
      if slot.abstain {
        // Skipped for good: our counter moves past it with the next COMMIT.
        lastAcknowledged = order
        order += 1
        continue
      }
      guard
        let certificate = certifyOrderMessage(
          view: view, order: order,
          digest: Commit.certifiedDigest(view: view, order: order, batchDigest: batchDigest),
          into: &actions)
      else { return }
      let commit = Commit(
        view: view, order: order, batchDigest: batchDigest, replica: replica,
        certificate: certificate)
      slots[order]!.commits[replica] = commit
      lastAcknowledged = order
      journal(.commit(commit), into: &actions)
      actions.append(.broadcast(.commit(commit)))
      order += 1
    }
  }

  mutating func receiveCommit(
    _ commit: Commit, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    guard commit.view >= view else {
      actions.append(.rejected(.wrongView(message: "COMMIT", view: commit.view, current: view)))
      return
    }
    guard commit.order > lowWaterMark else { return }
    guard commit.order <= highWaterMark else {
      actions.append(
        .rejected(
          .outsideWindow(
            message: "COMMIT", order: commit.order, low: lowWaterMark, high: highWaterMark)))
      return
    }
    guard configuration.replicas.contains(commit.replica), commit.replica != replica,
      commit.replica != leader(of: commit.view)
    else {
      actions.append(
        .rejected(.senderMismatch(message: "COMMIT", claimed: commit.replica, sender: sender)))
      return
    }
    // One vote per follower: its COMMIT of the highest view.
    if let known = slots[commit.order]?.commits[commit.replica], known.view >= commit.view {
      return
    }
    guard
      isValidOrderCertificate(
        commit.certificate, from: commit.replica, view: commit.view, order: commit.order,
        certified: Commit.certifiedDigest(
          view: commit.view, order: commit.order, batchDigest: commit.batchDigest))
    else {
      actions.append(.rejected(.invalidCertificate(message: "COMMIT", sender: sender)))
      return
    }
    slots[commit.order, default: Slot()].commits[commit.replica] = commit
    deliverCommitted(into: &actions)
  }

  /// τ(self, 𝔒, [v|o], –) over `digest`: the certificate of this replica's one order
  /// message (PREPARE or COMMIT) for (v, o). `nil`, with a rejection, if TrInX refuses.
  mutating func certifyOrderMessage(
    view: View, order: OrderNumber, digest: Digest, into actions: inout [PillarAction]
  ) -> Certificate? {
    do {
      return try trinx.certifyIndependent(
        counter: CounterLayout.ordering,
        newValue: CounterLayout.flattened(view: view, order: order), message: digest)
    } catch {
      actions.append(.rejected(.trinxRefused("\(error)")))
      return nil
    }
  }

  /// Whether `certificate` is τ(issuer, 𝔒, [v|o], –) by `issuer`'s TrInX over `certified`.
  func isValidOrderCertificate(
    _ certificate: Certificate, from issuer: ReplicaID, view: View, order: OrderNumber,
    certified: Digest
  ) -> Bool {
    certificate.issuer == configuration.trinxInstance(of: issuer, pillar: pillar)
      && certificate.counter == CounterLayout.ordering
      && certificate.previousValue == nil
      && certificate.newValue == CounterLayout.flattened(view: view, order: order)
      && trinx.verify(certificate, message: certified)
  }

  /// Delivers committed instances in order: a quorum of matching votes, no gaps.
  mutating func deliverCommitted(into actions: inout [PillarAction]) {
    var delivered = false
    while nextDelivery > lowWaterMark, nextDelivery <= deliveryLimit,
      let slot = slots[nextDelivery], !slot.delivered,
      let prepare = slot.committed(quorum: voteQuorum)
    {
      slots[nextDelivery]!.delivered = true
      if journaling { journalVotes(for: prepare, in: slot, into: &actions) }
      for request in prepare.batch.requests {
        inFlightRequests.remove(RequestRef(request))
        if let done = viewChange.awaited.removeValue(forKey: RequestRef(request)) {
          viewChange.awaitedBytes -= done.request.operation.count
          awaitedExecuted(after: ticks - done.since)
        }
      }
      // With signatures every correct replica drops the same inauthentic requests,
      // and none of them committed one: a request a faulty leader invented and a
      // NEW-VIEW had to re-propose (it may have been committed, for all anyone
      // can tell) never executes (issue 13).
      let batch =
        slot.authenticated && prepare.view == slot.prepare?.view
        ? prepare.batch : clients.authenticPart(of: prepare.batch)
      actions.append(.deliver(order: nextDelivery, view: prepare.view, batch: batch))
      nextDelivery += 1
      delivered = true
    }
    if delivered {
      if learnedAhead != nil { adoptLearnedCheckpoint(into: &actions) }
      propose(force: false, into: &actions)
    }
  }
}
