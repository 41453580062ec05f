import TrInX

/// The leader's side of ordering (§5.2.1): accept client requests, batch them and
/// propose them with certified PREPAREs.
extension OrderingPillar {
  mutating func receiveRequest(
    _ request: Request, forwarded: Bool, into actions: inout [PillarAction]
  ) {
    if let refusal = configuration.refusal(of: request) {
      actions.append(.rejected(refusal))
      return
    }
    let ref = RequestRef(request)
    if inFlightRequests.contains(ref) { return }
    let payload = request.payloadDigest
    guard clients.mayOrder(request, payload: payload) else {
      actions.append(.rejected(.clientAuthentication(request.key, sequence: request.sequence)))
      return
    }
    guard isLeader else {
      // A client that retransmits to all replicas reaches the leader through us, and
      // we suspect the leader if it is not executed in time (§5.2.3).
      if !forwarded {
        awaitExecution(of: request)
        if !isChangingView { actions.append(.send(.forwardedRequest(request), to: leader)) }
      }
      return
    }
    guard !isChangingView else { return }  // the client retransmits to the next leader
    guard pending.count < maxPendingRequests else { return }  // bounded: the client retries
    pending.append((request, request.digest(payload: payload)))
    inFlightRequests.insert(ref)
    propose(force: false, into: &actions)
  }

  /// Proposes pending requests while the window allows. A full batch is proposed at
  /// once; a partial one only while fewer than `maxInFlight` instances are
  /// undelivered, or when the batch timer fires (`force`). Instances up to
  /// `gapFillThrough` are proposed at once, empty if no request waits (§5.3.1).
  mutating func propose(force: Bool, into actions: inout [PillarAction]) {
    guard isLeader, !isChangingView else { return }
    // A leader that fell behind a later view delivers that view's committed
    // instances: it never proposes an order number it already delivered.
    nextProposal = max(nextProposal, nextDelivery)
    let first = nextProposal
    while !pending.isEmpty || nextProposal <= gapFillThrough, nextProposal <= highWaterMark {
      // An interval whose byte budget is spent gets empty batches: its checkpoint
      // comes, the window moves, and the next interval has a whole budget.
      let count = batchCount(
        budget: configuration.intervalByteBudget - heldBytes(inIntervalOf: nextProposal))
      let full = count < pending.count || count == configuration.maxBatchSize
      let inFlight = nextProposal - nextDelivery
      let gap = nextProposal <= gapFillThrough
      guard full || force || gap || inFlight < UInt64(configuration.maxInFlight) else { break }
      var requests: [Request] = []
      var digests: [Digest] = []
      requests.reserveCapacity(count)
      digests.reserveCapacity(count)
      for _ in 0..<count {
        let (request, digest) = pending.removeFirst()
        requests.append(request)
        digests.append(digest)
      }
      guard sendPrepare(Batch(requests: requests), requestDigests: digests, into: &actions)
      else { break }
    }
    if nextProposal > first, configuration.pillarCount > 1 {
      actions.append(.proposedThrough(nextProposal - 1))
    }
    if !pending.isEmpty, !batchTimerArmed {
      batchTimerArmed = true
      actions.append(.armBatchTimer)
    }
  }

  /// How many pending requests the next batch takes: at most `maxBatchSize`, no
  /// more than fit `maxBatchBytes` (at least one: every accepted operation fits)
  /// and none beyond `budget`, what is left of the interval's window byte budget.
  func batchCount(budget: Int) -> Int {
    var bytes = 0
    var count = 0
    for (request, _) in pending.prefix(configuration.maxBatchSize) {
      bytes += request.byteCount
      if bytes > budget || (count > 0 && bytes > configuration.maxBatchBytes) { break }
      count += 1
    }
    return count
  }

  /// The bytes of the batches of this view's PREPAREs held for the checkpoint
  /// interval of local order number `order` (see
  /// ``ProtocolConfiguration/intervalByteBudget``).
  func heldBytes(inIntervalOf order: OrderNumber) -> Int {
    let first = (order - 1) / checkpointInterval * checkpointInterval + 1
    var bytes = 0
    for o in first..<first + checkpointInterval {
      if let slot = slots[o], slot.prepare?.view == view { bytes += slot.batchBytes }
    }
    return bytes
  }

  /// Certifies and broadcasts the PREPARE for the next order number.
  mutating func sendPrepare(
    _ batch: Batch, requestDigests: [Digest], into actions: inout [PillarAction]
  ) -> Bool {
    let order = nextProposal
    let batchDigest = Batch.digest(ofRequestDigests: requestDigests)
    guard
      let certificate = certifyOrderMessage(
        view: view, order: order,
        digest: Prepare.certifiedDigest(view: view, order: order, batchDigest: batchDigest),
        into: &actions)
    else { return false }
    let prepare = Prepare(view: view, order: order, batch: batch, certificate: certificate)
    // Every request in `pending` was authenticated when it arrived.
    var slot = Slot(prepare: prepare, batchDigest: batchDigest, requestDigests: requestDigests)
    slot.authenticated = true
    slots[order] = slot
    nextProposal = order + 1
    journal(.prepare(prepare), into: &actions)
    actions.append(.broadcast(.prepare(prepare)))
    return true
  }
}
