import HybsterCore
import TrInX

/// The scripts of the directed attacks (``AttackCampaignKind``; issue 10, item 4):
/// what the Byzantine replica certifies, when, and for whom. Everything is certified
/// by the one ``AdversarySigner`` of pillar 0 (§5.1), so each message is one a
/// faulty replica holding only its own TrInX instance could send (§5.2.3).
extension AdaptiveAdversary {
  /// One tick of the campaign: strike once the setup is ready, then send the
  /// script's messages as the correct replicas reach the views they are meant for.
  mutating func campaignStep(world: CampaignWorld, pillars: [OrderingPillar])
    -> [(pillar: Int, out: Outgoing)]
  {
    guard campaign != nil else { return [] }
    campaign!.world = world
    campaign!.ticks += 1
    switch campaign!.phase {
    case .over: return []
    case .setup:
      guard readyToStrike(pillars[0]) else { return [] }
      campaign!.phase = .attack
      campaign!.ticks = 0
      strike(pillars[0])
    case .attack: break
    }
    guard campaign!.phase == .attack else { return [] }
    if campaign!.plan.kind == .skipAhead, !campaign!.struckTwice { skipAheadSecondStrike() }
    return sendViewChanges() + lead(pillars[0]) + commitLaggingLeader()
  }

  /// Whether view 0 went far enough: the delivering replica executed what the
  /// attack tries to undo, and the signer's counter still allows the script.
  func readyToStrike(_ pillar: OrderingPillar) -> Bool {
    let campaign = campaign!
    let counter = signers[0].ordering
    let executed = campaign.world.executed[Int(campaign.delivering)]
    guard counter.high == 0, executed >= 1 else { return false }
    switch campaign.plan.kind {
    case .unestablishedPrepare, .skipAhead: return true
    case .hiddenPrepares: return counter.low >= 1
    case .lateWindow:
      let window = pillar.windowSize
      guard executed > window, counter.low > window, let stable = pillar.stableCheckpoint,
        counter.low > stable.order, counter.low - stable.order <= window
      else { return false }
      return (stable.order + 1...counter.low).allSatisfy {
        knowledge[0].prepares[.init(view: 0, order: $0)] != nil
      }
    }
  }

  /// Certifies the script's VIEW-CHANGEs (and PREPAREs) from the counter's value now;
  /// ends the campaign if the counter refuses one.
  mutating func strike(_ pillar: OrderingPillar) {
    let plan = campaign!.plan
    var scripted: [ViewChange?] = []
    switch plan.kind {
    case .unestablishedPrepare:
      // A PREPARE for order 1 of the first view it leads, which it never establishes;
      // its counter cleaned past that view; a VIEW-CHANGE two views later that claims
      // fromView 0 and carries the PREPARE.
      let unestablished = (1...3).first { campaign!.leader(View($0)) == replica }.map(View.init)!
      let target = unestablished + 2
      campaign!.target = target
      let batch = otherBatch(than: 1)
      let digest = Prepare.certifiedDigest(
        view: unestablished, order: 1, batchDigest: batch.digest)
      guard
        let certificate = signers[0].independent(
          CounterLayout.flattened(view: unestablished, order: 1), over: digest),
        signers[0].clean(to: unestablished + 1)
      else { break }
      let prepare = Prepare(view: unestablished, order: 1, batch: batch, certificate: certificate)
      scripted = [scriptedViewChange(to: target, prepares: [prepare])]
    case .lateWindow:
      // Its honest VIEW-CHANGE for view 1 (the stable checkpoint and every PREPARE its
      // counter shows above it), then an empty one for view 2, which the lagging
      // replica leads.
      guard let stable = pillar.stableCheckpoint else { break }
      let last = signers[0].ordering.low
      let revealed = (stable.order + 1...last).compactMap {
        knowledge[0].prepares[.init(view: 0, order: $0)]
      }
      campaign!.target = 2
      scripted = [
        scriptedViewChange(to: 1, checkpoint: stable, prepares: revealed),
        scriptedViewChange(to: 2, checkpoint: stable),
      ]
    case .hiddenPrepares:
      // A VIEW-CHANGE for view 1 from a counter that shows order messages of view 0,
      // without their PREPAREs; one more for view 2 if the delivering replica leads 1.
      let first = scriptedViewChange(to: 1)
      if campaign!.leader(1) == plan.delivering {
        campaign!.target = 2
        scripted = [first, scriptedViewChange(to: 2)]
      } else {
        campaign!.target = 1
        scripted = [first]
      }
    case .skipAhead:
      // Its honest VIEW-CHANGE for view 1, which the delivering replica leads; it
      // COMMITs that leader's PREPAREs (the rest in ``skipAheadSecondStrike``).
      let last = signers[0].ordering.low
      let revealed = (0...last).dropFirst().compactMap {
        knowledge[0].prepares[.init(view: 0, order: $0)]
      }
      guard revealed.count == last else { break }
      campaign!.commitView = 1
      scripted = [scriptedViewChange(to: 1, prepares: revealed)]
    }
    if let target = campaign!.target, campaign!.leader(target) == plan.lagging {
      campaign!.commitView = target
    }
    let viewChanges = scripted.compactMap { $0 }
    guard !viewChanges.isEmpty, viewChanges.count == scripted.count else {
      campaign!.phase = .over
      return
    }
    campaign!.viewChanges = viewChanges
    for viewChange in viewChanges { knowledge[0].add(viewChange) }
  }

  /// Once the delivering replica delivered in view 1 what the lagging one never saw
  /// (and the lagging one supports view 1): a VIEW-CHANGE for view 2 from view 1 that
  /// reveals the PREPAREs of view 1 its COMMITs show, and an empty one for view 3
  /// with `fromView` 0.
  mutating func skipAheadSecondStrike() {
    let world = campaign!.world
    let (d, e) = (Int(campaign!.delivering), campaign!.lagging)
    let counter = signers[0].ordering
    // Beyond every order number of view 0 (the lagging replica may know those).
    let before = knowledge[0].prepares.keys.filter { $0.view == 0 }.map(\.order).max() ?? 0
    guard world.view[d] >= 1, world.reached(e) >= 1, counter.high == 1, counter.low > before,
      world.executed[d] >= counter.low
    else { return }
    campaign!.struckTwice = true
    let revealed = (1...counter.low).compactMap {
      knowledge[0].prepares[.init(view: 1, order: $0)]
    }
    let toView2 =
      UInt64(revealed.count) == counter.low
      ? scriptedViewChange(to: 2, fromView: 1, prepares: revealed) : nil
    guard let toView2, let toView3 = scriptedViewChange(to: 3) else {
      campaign!.phase = .over
      return
    }
    campaign!.target = 3
    campaign!.commitView = campaign!.leader(3) == campaign!.plan.lagging ? 3 : nil
    campaign!.committedThrough = 0
    campaign!.toCommit = [:]
    campaign!.viewChanges = [toView2, toView3]
  }

  /// A VIEW-CHANGE from `fromView` (0 unless given) for `target`, certified from the
  /// counter now.
  mutating func scriptedViewChange(
    to target: View, fromView: View = 0, checkpoint: StableCheckpoint? = nil,
    prepares: [Prepare] = []
  ) -> ViewChange? {
    let digest = ViewChange.certifiedDigest(
      replica: replica, fromView: fromView, toView: target, checkpoint: checkpoint,
      prepares: prepares)
    guard
      let certificate = signers[0].continuing(
        to: CounterLayout.flattened(view: target, order: 0), over: digest)
    else { return nil }
    return ViewChange(
      replica: replica, fromView: fromView, toView: target, checkpoint: checkpoint,
      prepares: prepares, certificate: certificate)
  }

  /// A batch other than the one view 0 ordered at `order`: a request it saw that is
  /// not in it, or a no-op.
  func otherBatch(than order: OrderNumber) -> Batch {
    let ordered = knowledge[0].prepares(at: order).flatMap(\.batch.requests)
    return knowledge[0].requests.first { !ordered.contains($0) }.map { Batch(requests: [$0]) }
      ?? .empty
  }

  /// The script's VIEW-CHANGEs, every fourth tick, to whom they are for, once the
  /// receivers take them (a replica takes VIEW-CHANGEs for the next view or two).
  mutating func sendViewChanges() -> [(pillar: Int, out: Outgoing)] {
    let campaign = campaign!
    guard campaign.ticks % 4 == 1 else { return [] }
    guard let target = campaign.target else {
      // skipAhead's first VIEW-CHANGE: to both, for view 1.
      return campaign.viewChanges.flatMap { viewChange in
        others.map { (0, Outgoing(message: .viewChange(viewChange), to: $0)) }
      }
    }
    let world = campaign.world
    let lagging = campaign.lagging
    var to: [ReplicaID]
    switch campaign.plan.kind {
    case .unestablishedPrepare:
      let leader = campaign.leader(target)
      guard world.view[Int(leader)] < target, world.reached(leader) + 1 >= target else {
        return []
      }
      to = others
    case .skipAhead, .lateWindow, .hiddenPrepares:
      guard world.view[Int(lagging)] < target else { return [] }
      to = [lagging]
    }
    return campaign.viewChanges.flatMap { viewChange in
      to.map { (0, Outgoing(message: .viewChange(viewChange), to: $0)) }
    }
  }

  /// As leader of the target view: once the lagging replica supports it, a NEW-VIEW
  /// from its VIEW-CHANGE and the Byzantine one, and then a PREPARE for the first
  /// free order number with another batch; resent every fourth tick.
  mutating func lead(_ pillar: OrderingPillar) -> [(pillar: Int, out: Outgoing)] {
    let campaign = campaign!
    guard let target = campaign.target, campaign.leader(target) == replica else { return [] }
    let lagging = campaign.lagging
    let world = campaign.world
    guard world.view[Int(lagging)] < target || world.executed[Int(lagging)] == 0 else { return [] }
    if !campaign.ledView {
      guard world.target[Int(lagging)] == target,
        let theirs = campaign.laggingViewChanges[target],
        let ours = campaign.viewChanges.first(where: { $0.toView == target })
      else { return [] }
      self.campaign!.ledView = true
      let viewChanges = [ours, theirs].sorted { $0.replica < $1.replica }
      let assignments = Self.plan(
        .vouchedOnly, viewChanges: viewChanges, acknowledgments: [], window: pillar.windowSize)
      var prepares: [Prepare] = []
      for (order, batch) in assignments {
        guard let prepare = certifiedPrepare(view: target, order: order, batch: batch) else {
          return []
        }
        prepares.append(prepare)
      }
      let low = viewChanges.compactMap(\.checkpoint).map(\.order).max() ?? 0
      let order = (assignments.last?.order ?? low) + 1
      guard
        let proposal = certifiedPrepare(view: target, order: order, batch: otherBatch(than: order))
      else { return [] }
      let newView = NewView(
        view: target, viewChanges: viewChanges, acknowledgments: [], prepares: prepares)
      self.campaign!.leading = [.newView(newView), .prepare(proposal)]
    }
    guard campaign.ticks % 4 == 2 || !campaign.ledView else { return [] }
    return self.campaign!.leading.map { (0, Outgoing(message: $0, to: lagging)) }
  }

  mutating func certifiedPrepare(view: View, order: OrderNumber, batch: Batch) -> Prepare? {
    let digest = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
    guard
      let certificate = signers[0].independent(
        CounterLayout.flattened(view: view, order: order), over: digest)
    else { return nil }
    return Prepare(view: view, order: order, batch: batch, certificate: certificate)
  }

  /// When the lagging replica leads the target view: a COMMIT for each of its
  /// PREPAREs there, in order (f+1 = 2 with its own).
  mutating func commitLaggingLeader() -> [(pillar: Int, out: Outgoing)] {
    var out: [(pillar: Int, out: Outgoing)] = []
    for order in campaign!.toCommit.keys.sorted() where order > campaign!.committedThrough {
      let prepare = campaign!.toCommit[order]!
      campaign!.toCommit[order] = nil
      let digest = Commit.certifiedDigest(
        view: prepare.view, order: order, batchDigest: prepare.batch.digest)
      guard
        let certificate = signers[0].independent(
          CounterLayout.flattened(view: prepare.view, order: order), over: digest)
      else { continue }
      campaign!.committedThrough = order
      let commit = Commit(
        view: prepare.view, order: order, batchDigest: prepare.batch.digest, replica: replica,
        certificate: certificate)
      out += others.map { (0, Outgoing(message: .commit(commit), to: $0)) }
    }
    return out
  }

  /// A message reached the replica: the campaign notes what its script needs.
  mutating func observeForCampaign(_ message: ProtocolMessage, from: ReplicaID) {
    guard var campaign else { return }
    campaign.observe(message, from: from) { isValid($0, pillar: 0) }
    self.campaign = campaign
  }
}
