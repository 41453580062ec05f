import TrInX

/// The view change (§5.2.3): suspicion, VIEW-CHANGE, view-change certificates,
/// NEW-VIEW and NEW-VIEW-ACK.
extension OrderingPillar {
  /// Whether this replica has left its view and supports a later one.
  public var isChangingView: Bool { viewChange.target != nil }

  /// The view this replica supports while changing views.
  public var targetView: View? { viewChange.target }

  /// The number of client requests awaited for execution (bounded).
  public var awaitedCount: Int { viewChange.awaited.count }

  /// The number of VIEW-CHANGEs held (bounded: four views, n each).
  public var heldViewChanges: Int { viewChange.viewChanges.values.reduce(0) { $0 + $1.count } }

  /// What the view change holds, for diagnosis: the vouched view, the views it holds
  /// a certificate for (with their bases) and the VIEW-CHANGEs held per view, each as
  /// sender:fromView.
  public var viewChangeSummary: String {
    let certified = viewChange.certified.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }
    let held = viewChange.viewChanges.sorted { $0.key < $1.key }.map { view, byReplica in
      "\(view):"
        + byReplica.values.sorted { $0.replica < $1.replica }
        .map { "\($0.replica)/\($0.fromView)" }.joined(separator: ",")
    }
    return "vouched=\(viewChange.vouchedView) certified=[\(certified.joined(separator: " "))]"
      + " held=[\(held.joined(separator: " "))] ticks=\(viewChange.ticksInChange)/\(viewChangeTimeout)"
  }

  /// The current timeout in ticks: doubled for every failed view change in a row, up
  /// to 16 times the configured one.
  var viewChangeTimeout: UInt64 {
    configuration.viewChangeTimeoutTicks << UInt64(min(viewChange.failedAttempts, 4))
  }

  // MARK: Suspicion

  /// Called every tick: suspect the leader when work is outstanding and nothing was
  /// delivered for a timeout; move on to the next view when a view change does not
  /// complete in time — but only with a view-change certificate for the current one.
  mutating func checkProgress(progressed: Bool, into actions: inout [PillarAction]) {
    if let target = viewChange.target {
      viewChange.ticksInChange += 1
      if viewChange.ticksInChange % 4 == 0, let own = viewChange.viewChanges[target]?[replica] {
        // Resend our VIEW-CHANGE, and provide the view-change certificate that let us
        // support `target` (§5.2.3: a replica moves on only once it "collected or
        // was provided with" one): peers that lost a message of it can follow.
        actions.append(.broadcast(.viewChange(own)))
        // Our VIEW-CHANGEs for the views before it: replicas still changing to one of
        // them need it, and after a restart (issue 12) we may no longer hold the
        // certificate that would relay it below.
        for earlier in viewChange.viewChanges.keys.sorted()
        where earlier < target && viewChange.certified[earlier] == nil {
          if let mine = viewChange.viewChanges[earlier]?[replica] {
            actions.append(.broadcast(.viewChange(mine)))
          }
        }
        // The NEW-VIEW-ACK and the NEW-VIEW part that vouch for the view our
        // VIEW-CHANGE comes from: a later leader's new-view certificate needs them.
        for ack in viewChange.acknowledgments[replica] ?? [] {
          actions.append(.broadcast(.newViewAck(ack)))
        }
        for acknowledged in viewChange.acknowledgedNewViews {
          actions.append(.broadcast(.newView(acknowledged)))
        }
        if let part = viewChange.sentNewViewPart, part.view == viewChange.acceptedView {
          actions.append(.broadcast(.newView(part)))
        } else if let installed = viewChange.installed, installed.view == viewChange.acceptedView {
          // Replicas that never got it acknowledge it (docs/view-change-safety.md).
          actions.append(.broadcast(.newView(installed)))
        }
        // The certificates for the two views before `target`: with several pillars,
        // siblings may have left a view at different times, and a replica still
        // changing to it needs every part of each VIEW-CHANGE in the certificate.
        for certified in viewChange.certified.keys.sorted() where certified < target {
          for sender in viewChange.viewChanges[certified]!.keys.sorted() {
            actions.append(.broadcast(.viewChange(viewChange.viewChanges[certified]![sender]!)))
          }
          let base = viewChange.certified[certified]!
          for ack in viewChange.acknowledgments(for: base) where ack.replica != replica {
            actions.append(.broadcast(.newViewAck(ack)))
          }
        }
      }
      guard viewChange.ticksInChange >= viewChangeTimeout else { return }
      // Move on with a certificate for the view we support; or, if the others left
      // `target + 1` already (a peer relays its certificate) and the VIEW-CHANGEs for
      // `target` we missed are never resent, support the view after it, as §5.2.3
      // allows with a certificate for the one before.
      let next: View? =
        hasViewChangeCertificate(for: target)
        ? target + 1 : hasViewChangeCertificate(for: target + 1) ? target + 2 : nil
      if let next {
        viewChange.failedAttempts += 1
        startViewChange(to: next, into: &actions)
      }
      return
    }
    let waitingForState = nextDelivery <= lowWaterMark
    let outstanding =
      !viewChange.awaited.isEmpty || (isLeader && !pending.isEmpty)
      || gapFillThrough >= nextDelivery
      || slots.contains { $0.key >= nextDelivery && $0.value.prepare != nil }
    if outstanding, !waitingForState, !progressed {
      viewChange.stalledTicks += 1
    } else {
      viewChange.stalledTicks = 0
    }
    // A leader that makes progress but never orders a client's request is as
    // faulty as a silent one (censorship): every awaited request has its own timer.
    // It runs out after a few usual execution delays once nothing was delivered and
    // nothing came from the leader for that long (a stopped leader is replaced fast),
    // and after the whole view-change timeout while the leader is heard from or
    // instances are delivered (a loaded leader, whose queue holds the request for a
    // while, or a follower catching up, does not get the leader suspected; issue 12).
    let short = awaitedTimeout
    let silent = viewChange.stalledTicks >= short && ticks - viewChange.leaderHeardAtTick >= short
    let patience = silent ? short : viewChangeTimeout
    let overdue =
      !waitingForState && viewChange.awaited.values.contains { ticks - $0.since >= patience }
    if viewChange.stalledTicks >= viewChangeTimeout || overdue {
      startViewChange(to: view + 1, into: &actions)
    }
  }

  /// How many ticks an awaited request may wait for execution: a few times what
  /// awaited requests took so far, within the view-change timeout.
  var awaitedTimeout: UInt64 {
    let ceiling = viewChangeTimeout
    guard ticks >= viewChange.installedAtTick + ceiling else { return ceiling }
    let floor = min(ViewChangeState.awaitedTicksMinimum, ceiling)
    guard let delay = viewChange.awaitedDelay else { return floor }
    return min(max(delay.current, floor), ceiling)
  }

  /// An awaited request was executed after `elapsed` ticks.
  mutating func awaitedExecuted(after elapsed: UInt64) {
    let ceiling = configuration.viewChangeTimeoutTicks
    var delay =
      viewChange.awaitedDelay
      ?? AdaptiveTimeout(
        minimum: min(ViewChangeState.awaitedTicksMinimum, ceiling), maximum: ceiling, initial: 0)
    delay.observe(elapsed)
    viewChange.awaitedDelay = delay
  }

  /// Remembers a request a client sent to this replica, to suspect the leader if it
  /// is not executed in time.
  mutating func awaitExecution(of request: Request) {
    let ref = RequestRef(request)
    guard viewChange.awaited[ref] == nil, viewChange.awaited.count < ViewChangeState.awaitedLimit,
      viewChange.awaitedBytes + request.operation.count <= ViewChangeState.awaitedByteLimit
    else { return }
    viewChange.awaited[ref] = (request, ticks)
    viewChange.awaitedBytes += request.operation.count
  }

  // MARK: VIEW-CHANGE

  /// Leaves the current view (or the view change to `target - 1`) and supports the
  /// leader of `target` with a certified VIEW-CHANGE.
  ///
  /// Its `fromView` is the highest view this replica knows was established
  /// (``ViewChangeState/vouchedView``); it supports a view beyond the one after that
  /// only with a view-change certificate for the view before, which it learned from
  /// (§5.2.3). A replica that knows a view at or above `target` was established
  /// supports the view after that one instead.
  ///
  /// When its siblings (§5.3.3) ask for a view it may not support yet, it supports
  /// the highest one it may below it: it leaves its view with them, and joins them
  /// once it holds the certificate.
  mutating func startViewChange(to requested: View, into actions: inout [PillarAction]) {
    let fromView = viewChange.vouchedView
    var target = max(requested, fromView + 1)
    if !injectedFaults.contains(.moveOnWithoutCertificate) {
      while target > fromView + 1, !hasViewChangeCertificate(for: target - 1) { target -= 1 }
    }
    guard target > view, target > (viewChange.target ?? 0) else { return }
    // Per order number of the window, the PREPARE of the highest view up to
    // `fromView` (R1 of docs/view-change-safety.md): the bound applies before the
    // choice, so that no PREPARE this replica may not carry displaces one it must.
    // (A later view's PREPARE, kept for delivery, belongs to that view's own view
    // change.)
    let admitUnvouched = injectedFaults.contains(.unvouchedPrepares)
    var known: [OrderNumber: Prepare] = [:]
    for prepare in Array(viewChange.learned.values) + slots.values.compactMap(\.prepare)
    where inWindow(prepare.order) && prepare.view < target
      && (admitUnvouched || prepare.view <= fromView)
    {
      if let other = known[prepare.order], other.view >= prepare.view { continue }
      known[prepare.order] = prepare
    }
    let prepares = known.values.sorted { $0.order < $1.order }
    // A replica's VIEW-CHANGE counts only with all its parts (§5.3.3): a pillar that
    // skips views its siblings went through (it learned a certificate they lacked)
    // supports each of them too, or replicas still changing to one of them could
    // never complete this replica's message. Safe: the certificate for `target - 1`
    // it learned from vouches for `fromView` in every view up to `target`
    // (docs/view-change-safety.md, R5).
    let first = max(
      (viewChange.target ?? view) + 1,
      target > ViewChangeGate.viewsAhead ? target - ViewChangeGate.viewsAhead : 0)
    var messages: [ViewChange] = []
    for supported in first...target {
      let digest = ViewChange.certifiedDigest(
        replica: replica, fromView: fromView, toView: supported,
        checkpoint: checkpoints.stable, prepares: prepares)
      let certificate: Certificate
      do {
        certificate = try trinx.certifyContinuing(
          counter: CounterLayout.ordering,
          newValue: CounterLayout.flattened(view: supported, order: 0), message: digest)
      } catch {
        actions.append(.rejected(.trinxRefused("\(error)")))
        return
      }
      messages.append(
        ViewChange(
          replica: replica, fromView: fromView, toView: supported,
          checkpoint: checkpoints.stable, prepares: prepares, certificate: certificate))
    }
    viewChange.target = target
    viewChange.ticksInChange = 0
    viewChange.stalledTicks = 0
    // From now on this replica takes part in no instance below `target`.
    pending.removeAll()
    inFlightRequests.removeAll()
    batchTimerArmed = false
    // Keep the certificates for the two views before `target` to provide them to
    // others (4 views at most), and our own VIEW-CHANGEs for every view we may have
    // skipped: a replica still changing to one of them needs ours to complete its
    // certificate, and no one else can provide it.
    viewChange.keepViewChanges(near: target, own: replica)
    viewChange.certified = viewChange.certified.filter { $0.key + 2 >= target }
    for message in messages { journal(.viewChange(message), into: &actions) }
    actions.append(.viewChangeStarted(view: target))
    for message in messages {
      actions.append(.broadcast(.viewChange(message)))
      if message.toView < target, message.toView + ViewChangeGate.viewsAhead >= target {
        viewChange.viewChanges[message.toView, default: [:]][replica] = message
      }
    }
    record(messages.last!, into: &actions)
  }

  mutating func receiveViewChange(
    _ message: ViewChange, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    guard message.replica != replica else { return }
    if message.toView <= view {
      // The sender is behind: it may have missed the NEW-VIEW of our view.
      if let installed = viewChange.installed, installed.view == view, message.toView == view {
        actions.append(.send(.newView(installed), to: sender))
      }
      return
    }
    let base = viewChange.target ?? (view + 1)
    guard message.toView >= base, message.toView <= base + 1 else { return }  // bounded
    guard viewChange.viewChanges[message.toView]?[message.replica] == nil else { return }
    guard isValidViewChange(message) else {
      actions.append(.rejected(.invalidCertificate(message: "VIEW-CHANGE", sender: sender)))
      return
    }
    record(message, into: &actions)
  }

  /// Stores a valid VIEW-CHANGE and acts on what it completes.
  mutating func record(_ message: ViewChange, into actions: inout [PillarAction]) {
    let target = message.toView
    viewChange.viewChanges[target, default: [:]][message.replica] = message
    if viewChange.viewChanges[target]!.count == configuration.quorum,
      target == viewChange.target
    {
      // As in PBFT, the timeout for a view starts once a quorum supports it: a
      // replica that ran ahead alone waits for the others instead of moving on again
      // just as they arrive and the new leader is about to send its NEW-VIEW.
      viewChange.ticksInChange = 0
    }
    learnViewChangeCertificate(for: target, into: &actions)
    joinIfOthersMovedOn(into: &actions)
    tryToLead(into: &actions)
  }

  /// f+1 replicas support the next view: at least one correct replica does, so join
  /// it — from normal operation at once, while changing views only with a
  /// view-change certificate for the view supported now (§5.2.3). Checked whenever a
  /// VIEW-CHANGE arrives, since the certificate may complete after the f+1.
  mutating func joinIfOthersMovedOn(into actions: inout [PillarAction]) {
    let next = (viewChange.target ?? view) + 1
    guard (viewChange.viewChanges[next]?.count ?? 0) >= configuration.faultsTolerated + 1 else {
      return
    }
    if let current = viewChange.target, !hasViewChangeCertificate(for: current) { return }
    startViewChange(to: next, into: &actions)
  }

  /// Whether this replica holds, and learned from, a view-change certificate for
  /// `target`.
  func hasViewChangeCertificate(for target: View) -> Bool {
    if injectedFaults.contains(.moveOnWithoutCertificate) {
      return (viewChange.viewChanges[target]?.count ?? 0) >= configuration.quorum
    }
    return viewChange.certified[target] != nil
  }

  /// The best new-view certificate for `target` among the held VIEW-CHANGEs and
  /// NEW-VIEW-ACKs: the highest `fromView` u for which the VIEW-CHANGEs with
  /// fromView ≤ u still form a quorum and f+1 replicas vouch for u (§5.2.3).
  func newViewCertificate(for target: View) -> (
    viewChanges: [ViewChange], acknowledgments: [NewViewAck]
  )? {
    guard let received = viewChange.viewChanges[target], received.count >= configuration.quorum
    else { return nil }
    for base in Set(received.values.map(\.fromView)).sorted(by: >) {
      let certificate = received.values.filter { $0.fromView <= base }
        .sorted { $0.replica < $1.replica }
      guard certificate.count >= configuration.quorum else { continue }
      let acks = viewChange.acknowledgments(for: base)
      if isValidNewViewCertificate(view: target, viewChanges: certificate, acknowledgments: acks) {
        return (certificate, acks)
      }
    }
    return nil
  }

  /// A view-change certificate for `target` — q VIEW-CHANGEs that form a valid
  /// new-view certificate — carries every PREPARE that may have committed before
  /// `target` (§5.2.3): learn what a NEW-VIEW built from it would assign, to
  /// propagate it in later VIEW-CHANGEs. Learned again whenever a certificate with a
  /// higher base completes.
  mutating func learnViewChangeCertificate(for target: View, into actions: inout [PillarAction]) {
    guard let (viewChanges, acks) = newViewCertificate(for: target) else { return }
    let plan = NewViewPlan(
      viewChanges: viewChanges, acknowledgments: acks, windowSize: windowSize,
      admitUnvouched: injectedFaults.contains(.unvouchedPrepares))
    if let learnedBase = viewChange.certified[target], learnedBase >= plan.base { return }
    viewChange.certified[target] = plan.base
    learn(plan, vouched: true, into: &actions)
  }

  /// Adopts what a view-change certificate or a NEW-VIEW proves: first its
  /// checkpoint (the window moves), then its PREPAREs (the window now holds them),
  /// and, for a certificate (`vouched`), that f+1 replicas vouched for its base.
  mutating func learn(_ plan: NewViewPlan, vouched: Bool, into actions: inout [PillarAction]) {
    let learnFirst = injectedFaults.contains(.learnBeforeStabilizing)
    if learnFirst { learn(plan.evidence, into: &actions) }
    if let checkpoint = plan.checkpoint, checkpoint.order > lowWaterMark {
      stabilize(checkpoint, into: &actions)
    }
    if !learnFirst { learn(plan.evidence, into: &actions) }
    if vouched { viewChange.vouchedView = max(viewChange.vouchedView, plan.base) }
  }

  /// Keeps, per order number of the window, the PREPARE of the highest view.
  mutating func learn(_ prepares: [Prepare], into actions: inout [PillarAction]) {
    for prepare in prepares where prepare.order > lowWaterMark && prepare.order <= highWaterMark {
      if let known = viewChange.learned[prepare.order], known.view >= prepare.view { continue }
      viewChange.learned[prepare.order] = prepare
      journal(.prepare(prepare), into: &actions)
    }
  }

  // MARK: NEW-VIEW

  /// As the leader of the supported view, builds the NEW-VIEW once a usable
  /// new-view certificate exists.
  mutating func tryToLead(into actions: inout [PillarAction]) {
    guard let target = viewChange.target, leader(of: target) == replica,
      viewChange.viewChanges[target]?[replica] != nil,
      let (certificate, acks) = newViewCertificate(for: target)
    else { return }
    if configuration.pillarCount > 1, viewChange.leadApproved != target {
      // The replica leads with all its pillars or with none (§5.3.3, ⑥–⑦).
      if viewChange.readyReported != target {
        viewChange.readyReported = target
        actions.append(.readyToLead(target))
      }
      return
    }
    sendNewView(target, viewChanges: certificate, acknowledgments: acks, into: &actions)
  }

  mutating func sendNewView(
    _ target: View, viewChanges: [ViewChange], acknowledgments: [NewViewAck],
    into actions: inout [PillarAction]
  ) {
    let plan = NewViewPlan(
      viewChanges: viewChanges, acknowledgments: acknowledgments,
      windowSize: windowSize, admitUnvouched: injectedFaults.contains(.unvouchedPrepares))
    if let checkpoint = plan.checkpoint, checkpoint.order > lowWaterMark {
      stabilize(checkpoint, into: &actions)
    }
    var prepares: [Prepare] = []
    for (order, batch) in plan.assignments {
      guard
        let certificate = certifyOrderMessage(
          view: target, order: order,
          digest: Prepare.certifiedDigest(view: target, order: order, batchDigest: batch.digest),
          into: &actions)
      else { return }
      prepares.append(Prepare(view: target, order: order, batch: batch, certificate: certificate))
    }
    let newView = NewView(
      view: target, viewChanges: viewChanges, acknowledgments: acknowledgments,
      prepares: prepares)
    actions.append(.broadcast(.newView(newView)))
    if configuration.hasSeveralLeaders(target) {
      // Other replicas lead the other pillars: install with their parts (§5.3.3).
      // The counter has moved into `target` already, so should that never happen,
      // this pillar's next VIEW-CHANGE must come from `target` and reveal its
      // PREPAREs (§5.2.3); a view it alone accepted is refuted by the new-view
      // certificate rule, as any unestablished view is.
      viewChange.acceptedView = target
      viewChange.vouchedView = max(viewChange.vouchedView, target)
      viewChange.sentNewViewPart = newView
      journal(.installed(newView), into: &actions)
      learn(prepares, into: &actions)
      actions.append(.newViewPart(newView))
      return
    }
    enter(newView, plan: plan, into: &actions)
  }

  mutating func receiveNewView(
    _ newView: NewView, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    guard newView.view > view else { return }  // installed already, or stale
    if let target = viewChange.target, newView.view < target {
      // We already left this view: acknowledge it so that a later leader can use
      // the VIEW-CHANGEs whose fromView is this view (§5.2.3, NEW-VIEW-ACK).
      guard !viewChange.hasAcknowledgment(of: replica, view: newView.view),
        let plan = validNewViewPlan(newView)
      else { return }
      sendNewViewAck(for: newView, plan: plan, into: &actions)
      return
    }
    guard let plan = validNewViewPlan(newView) else {
      actions.append(.rejected(.invalidCertificate(message: "NEW-VIEW", sender: sender)))
      return
    }
    enter(newView, plan: plan, into: &actions)
  }

  /// The plan of `newView` if the NEW-VIEW is valid in every part: its certificate,
  /// each VIEW-CHANGE and NEW-VIEW-ACK, and PREPAREs that are exactly the plan,
  /// each certified by the new leader for [v|o].
  func validNewViewPlan(_ newView: NewView) -> NewViewPlan? {
    guard
      isValidNewViewCertificate(
        view: newView.view, viewChanges: newView.viewChanges,
        acknowledgments: newView.acknowledgments),
      newView.viewChanges.allSatisfy({ isValidViewChange($0) }),
      newView.acknowledgments.allSatisfy({ isValidNewViewAck($0) })
    else { return nil }
    let plan = NewViewPlan(
      viewChanges: newView.viewChanges, acknowledgments: newView.acknowledgments,
      windowSize: windowSize, admitUnvouched: injectedFaults.contains(.unvouchedPrepares))
    guard plan.assignments.count == newView.prepares.count else { return nil }
    for ((order, batch), prepare) in zip(plan.assignments, newView.prepares) {
      guard prepare.view == newView.view, prepare.order == order, prepare.batch == batch,
        isValidPrepare(prepare)
      else { return nil }
    }
    return plan
  }

  /// Installs the view of a valid NEW-VIEW: its PREPAREs become the log, followers
  /// COMMIT them in order, the leader proposes after the last of them.
  mutating func enter(_ newView: NewView, plan: NewViewPlan, into actions: inout [PillarAction]) {
    // Nothing of the old view may be acted upon while the new one is set up.
    viewChange.target = newView.view
    if let checkpoint = plan.checkpoint, checkpoint.order > lowWaterMark {
      stabilize(checkpoint, into: &actions)
    }
    view = newView.view
    viewChange.target = nil
    viewChange.acceptedView = newView.view
    viewChange.vouchedView = max(viewChange.vouchedView, newView.view)
    viewChange.installed = newView
    viewChange.installedAtTick = ticks
    journal(.installed(newView), into: &actions)
    viewChange.failedAttempts = 0
    viewChange.stalledTicks = 0
    viewChange.learned.removeAll()
    viewChange.viewChanges = viewChange.viewChanges.filter { $0.key > newView.view }
    viewChange.certified = viewChange.certified.filter { $0.key > newView.view }
    var log: [OrderNumber: Slot] = [:]
    for prepare in newView.prepares where inWindow(prepare.order) {
      let digests = prepare.batch.requests.map(\.digest)
      log[prepare.order] = Slot(
        prepare: prepare, batchDigest: Batch.digest(ofRequestDigests: digests),
        requestDigests: digests, delivered: prepare.order < nextDelivery)
    }
    // Order messages of the new view that arrived before its NEW-VIEW stay: they were
    // verified on receipt, and the view is established now. With split messages
    // (§5.3.3) this is the rule, not the exception: a replica acts on a NEW-VIEW
    // only with all its parts, so the new leader's first PREPAREs in one pillar
    // overtake the NEW-VIEW parts of the pillars after it.
    for (order, old) in slots where inWindow(order) {
      if log[order] == nil,
        let early = old.laterPrepares.first(where: { $0.prepare.view == newView.view })
      {
        let digests = early.prepare.batch.requests.map(\.digest)
        var slot = Slot(
          prepare: early.prepare, batchDigest: early.batchDigest, requestDigests: digests,
          delivered: order < nextDelivery)
        slot.abstain = firstUnauthenticated(early.prepare.batch.requests) != nil
        slot.authenticated = !slot.abstain
        log[order] = slot
      }
      if log[order] != nil {
        log[order]!.commits = old.commits.filter { $0.value.view == newView.view }
        if log[order]!.delivered, let proof = old.commitProof(quorum: voteQuorum),
          proof.prepare.view < newView.view
        {
          log[order]!.earlierCommit = proof
        }
      }
    }
    slots = log
    if journaling {
      for order in log.keys.sorted() { journal(.prepare(log[order]!.prepare!), into: &actions) }
    }
    lastAcknowledged = lowWaterMark
    nextProposal = max(lowWaterMark, newView.prepares.last?.order ?? 0) + 1
    pending.removeAll()
    inFlightRequests.removeAll()
    batchTimerArmed = false
    actions.append(.viewInstalled(view: newView.view, leader: leader))
    if isLeader, configuration.pillarCount > 1, nextProposal > 1 {
      // Sibling pillars' NEW-VIEWs may end lower: they fill up to ours (§5.3.3).
      actions.append(.proposedThrough(nextProposal - 1))
    }
    acknowledge(into: &actions)
    deliverCommitted(into: &actions)
    handOverAwaitedRequests(into: &actions)
    propose(force: false, into: &actions)
  }

  /// After a view change, requests clients sent here go to the new leader (or, at
  /// the new leader, into its queue) without waiting for the clients to retry.
  /// Each awaited request's timer restarts: the new leader gets a full timeout for
  /// it (otherwise the requests that made us suspect the old leader would at once
  /// make us suspect the new one as well).
  mutating func handOverAwaitedRequests(into actions: inout [PillarAction]) {
    for ref in Array(viewChange.awaited.keys) { viewChange.awaited[ref]!.since = ticks }
    let waiting = viewChange.awaited.values.map(\.request).sorted {
      ($0.client, $0.lane, $0.sequence) < ($1.client, $1.lane, $1.sequence)
    }
    for request in waiting {
      if isLeader {
        let ref = RequestRef(request)
        guard !inFlightRequests.contains(ref), pending.count < maxPendingRequests else { continue }
        pending.append((request, request.digest))
        inFlightRequests.insert(ref)
      } else {
        actions.append(.send(.forwardedRequest(request), to: leader))
      }
    }
  }

  // MARK: NEW-VIEW-ACK

  /// Acknowledges a valid NEW-VIEW for a view this replica already left, and
  /// learns what it proves: its checkpoint, its PREPAREs, and that its view was
  /// established.
  mutating func sendNewViewAck(
    for newView: NewView, plan: NewViewPlan, into actions: inout [PillarAction]
  ) {
    let digest = NewViewAck.certifiedDigest(
      replica: replica, view: newView.view, prepares: newView.prepares)
    let certificate: Certificate
    do {
      certificate = try trinx.trustedMAC(counter: CounterLayout.checkpoint, message: digest)
    } catch {
      actions.append(.rejected(.trinxRefused("\(error)")))
      return
    }
    let ack = NewViewAck(
      replica: replica, view: newView.view, prepares: newView.prepares, certificate: certificate)
    viewChange.record(ack)
    viewChange.keepAcknowledged(newView, by: replica)
    // Only its checkpoint is learned: its PREPAREs are of a view this replica does
    // not vouch for (its NEW-VIEW-ACK does, and carries them). Learning them would
    // displace the PREPAREs it must propagate (simulator seed 1901), and raising
    // `fromView` instead would need f+1 vouchers of its own in every later
    // certificate.
    var proven = plan
    proven.evidence = []
    learn(proven, vouched: false, into: &actions)
    actions.append(.broadcast(.newViewAck(ack)))
    acknowledgmentRecorded(into: &actions)
  }

  mutating func receiveNewViewAck(
    _ ack: NewViewAck, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {
    guard ack.replica != replica, !viewChange.hasAcknowledgment(of: ack.replica, view: ack.view)
    else { return }
    guard isValidNewViewAck(ack) else {
      actions.append(.rejected(.invalidCertificate(message: "NEW-VIEW-ACK", sender: sender)))
      return
    }
    viewChange.record(ack)
    acknowledgmentRecorded(into: &actions)
  }

  /// A NEW-VIEW-ACK may complete a new-view certificate for any view held.
  mutating func acknowledgmentRecorded(into actions: inout [PillarAction]) {
    for target in viewChange.viewChanges.keys.sorted() {
      learnViewChangeCertificate(for: target, into: &actions)
    }
    joinIfOthersMovedOn(into: &actions)
    tryToLead(into: &actions)
  }
}
