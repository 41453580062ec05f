import TrInX

/// The journal of a pillar and its restart from it (issue 12; see ``PillarRecord``).
///
/// A restarted pillar resumes as the same replica after a pause: in the view it
/// accepted, with the PREPAREs and COMMITs it sent and the views it vouched for.
/// What it lost (others' votes, messages received but not acted upon) is what a
/// lossy network may take anyway; retransmission (§5.2.1) and the view change bring
/// it back. Its TrInX continues from the last released counter value, so its next
/// VIEW-CHANGE can reveal every PREPARE up to it (§5.2.3) and a whole-cluster
/// restart needs no view the restored counters cannot certify in.
extension OrderingPillar {
  /// Appends `record` for the journal if this pillar journals.
  mutating func journal(_ record: PillarRecord, into actions: inout [PillarAction]) {
    if journaling { actions.append(.persist(record)) }
  }

  /// Records the checkpoint, views and counter if they changed during this call;
  /// the counter last, so that a journal torn inside a turn never holds a counter
  /// value without what led to it.
  mutating func journalMarks(into actions: inout [PillarAction]) {
    if let stable = checkpoints.stable, stable.order != journalMarks.stableOrder {
      journalMarks.stableOrder = stable.order
      actions.append(.persist(.stable(stable)))
    }
    if view != journalMarks.entered || viewChange.acceptedView != journalMarks.accepted
      || viewChange.vouchedView != journalMarks.vouched
    {
      journalMarks.entered = view
      journalMarks.accepted = viewChange.acceptedView
      journalMarks.vouched = viewChange.vouchedView
      actions.append(
        .persist(
          .views(
            entered: view, accepted: viewChange.acceptedView, vouched: viewChange.vouchedView)))
    }
    if let counter = try? trinx.value(of: CounterLayout.ordering), counter != journalMarks.counter {
      journalMarks.counter = counter
      actions.append(.persist(.counter(counter)))
    }
  }

  /// The ordering counter's current value.
  public var orderingCounter: CounterValue {
    (try? trinx.value(of: CounterLayout.ordering)) ?? .zero
  }

  /// Restarts pillar `pillar` of `replica` from its journal.
  ///
  /// - Parameters:
  ///   - journal: what the journal recovered.
  ///   - trinx: this pillar's TrInX instance, its ordering counter restored to
  ///     `journal.counter` (and the other counters to their values).
  ///   - executedThrough: the last local order number the replica's restored service
  ///     state includes (its own snapshot); delivery resumes after it, or state
  ///     transfer fetches the stable checkpoint if that lies beyond it.
  ///
  /// Call ``resume(into:)`` next, and carry out its actions.
  public init(
    recovering journal: PillarRecovery, configuration: ProtocolConfiguration, replica: ReplicaID,
    pillar: Int = 0, trinx: TrInXInstance, clients: RequestAuthenticator,
    executedThrough: OrderNumber
  ) {
    self.init(
      configuration: configuration, replica: replica, pillar: pillar, trinx: trinx,
      clients: clients)
    precondition(
      orderingCounter == journal.counter, "restore the TrInX counter to the journal's value")
    journaling = true
    // A journal set aside as damaged leaves only the counter's reservation: the
    // pillar may have certified order messages it no longer holds.
    startedOver = journal.counter > .zero && journal == PillarRecovery(counterOnly: journal.counter)
    journalMarks = JournalMarks(
      counter: journal.counter, entered: journal.view, accepted: journal.acceptedView,
      vouched: journal.vouchedView, stableOrder: journal.lowWaterMark)
    let counter = journal.counter
    if let stable = journal.stable {
      checkpoints.stabilize(stable)
      lowWaterMark = stable.order
    }
    view = journal.view
    viewChange.acceptedView = journal.acceptedView
    viewChange.vouchedView = journal.vouchedView
    if let installed = journal.installed, installed.view == journal.acceptedView {
      if installed.view == view { viewChange.installed = installed }
      if configuration.hasSeveralLeaders(installed.view), leader(of: installed.view) == replica {
        // Its own NEW-VIEW part (§5.3.3), resent while it waits for the others'.
        viewChange.sentNewViewPart = installed
      }
    }
    // Below the stable checkpoint, state transfer fetches it (``resume(into:)``).
    nextDelivery = executedThrough + 1
    deliveredAtLastTick = nextDelivery  // no progress yet: the first tick asks peers
    if configuration.pillarCount > 1 { deliveryLimit = nextDelivery - 1 + windowSize }
    // Own certified messages above the counter never left (persist before send).
    func released(view: View, order: OrderNumber) -> Bool {
      CounterLayout.flattened(view: view, order: order) <= counter
    }
    for (order, prepare) in journal.prepares where inWindow(order) {
      if leader(of: prepare.view) == replica, !released(view: prepare.view, order: order) {
        continue
      }
      if prepare.view == view {
        let digests = prepare.batch.requests.map(\.digest)
        var slot = Slot(
          prepare: prepare, batchDigest: Batch.digest(ofRequestDigests: digests),
          requestDigests: digests, delivered: order < nextDelivery)
        slot.abstain = firstUnauthenticated(prepare.batch.requests) != nil
        slot.authenticated = !slot.abstain
        if let commit = journal.commits[order], commit.view == view,
          released(view: commit.view, order: order)
        {
          slot.commits[replica] = commit
        }
        for vote in journal.votes[order] ?? [] where vote.view == view {
          slot.commits[vote.replica] = vote
        }
        slots[order] = slot
      } else if prepare.view <= viewChange.vouchedView {
        viewChange.learned[order] = prepare
      }
    }
    if counter.high == view {
      lastAcknowledged = max(lowWaterMark, counter.low)
      nextProposal = max(lowWaterMark, counter.low) + 1
    } else {
      lastAcknowledged = lowWaterMark
      nextProposal = lowWaterMark + 1
    }
    for (supported, own) in journal.viewChanges where supported > view {
      viewChange.viewChanges[supported, default: [:]][replica] = own
    }
    if counter.high > view {
      // It was changing to the view its counter moved to (or, leading with rotating
      // leaders, waiting for the other leaders' NEW-VIEW parts of it).
      viewChange.target = counter.high
    }
  }

  /// The first actions of a restarted pillar: fetch the stable checkpoint if the
  /// restored service state lies below it, tell sibling pillars how far this leader
  /// proposed (§5.3.1), resend its VIEW-CHANGE if it was changing views, and vote
  /// on what it holds.
  public mutating func resume(into actions: inout [PillarAction]) {
    if let stable = checkpoints.stable, nextDelivery <= stable.order {
      actions.append(
        .stateTransferNeeded(
          order: stable.order, stateDigest: stable.stateDigest,
          from: stable.proof.map(\.replica).filter { $0 != replica }))
    }
    if let target = viewChange.target {
      actions.append(.viewChangeStarted(view: target))
      if let own = viewChange.viewChanges[target]?[replica] {
        actions.append(.broadcast(.viewChange(own)))
      }
      if let part = viewChange.sentNewViewPart, part.view == target {
        // The coordinator assembles the NEW-VIEW with the other leaders' parts.
        actions.append(.broadcast(.newView(part)))
        actions.append(.newViewPart(part))
      }
      // What committed before the crash is delivered again at once, view change or
      // not: the votes of other replicas that committed it were not journaled, and
      // may never come again (simulator seed 300014483).
      deliverCommitted(into: &actions)
      return
    }
    if isLeader, configuration.pillarCount > 1, nextProposal > 1 {
      actions.append(.proposedThrough(nextProposal - 1))
    }
    acknowledge(into: &actions)
    deliverCommitted(into: &actions)
  }
}
