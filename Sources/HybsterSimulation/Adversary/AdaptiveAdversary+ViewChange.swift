import HybsterCore
import TrInX

/// The adversary's VIEW-CHANGEs (§5.2.3; split in parts, §5.3.3): any target above
/// its counters, any `fromView` its continuing certificate lets it claim, any seen
/// stable checkpoint, and any mix of its own certified PREPAREs (of views nobody
/// established) and seen valid ones.
extension AdaptiveAdversary {
  /// How it fills a VIEW-CHANGE with PREPAREs.
  enum PrepareChoice: CaseIterable {
    /// Per order number, the PREPARE of the highest view it knows.
    case highest
    /// Its own PREPAREs where it has one, otherwise the highest.
    case ownFirst
    /// Per order number, any known PREPARE or none.
    case random
    /// None (only valid while its counter shows no order message).
    case none
  }

  /// A VIEW-CHANGE part from every pillar for one target view (often after cleaning
  /// the counters, so that `fromView` is free), to the replicas it picks.
  mutating func viewChanges(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    guard !runsAway(pillars) else { return [] }
    let counters = signers.map(\.ordering.high).max()!
    let current = pillars.map { $0.targetView ?? $0.view }.max()!
    let seen = knowledge[0].viewChanges.keys.max() ?? 0
    var target = max(counters, current) + 1 + random.uint(0...1)
    if seen > target, seen <= current + 2, random.chance(0.5) { target = seen }
    guard target > counters else { return [] }
    if random.chance(0.5) {
      for u in pillars.indices where signers[u].ordering.high + 1 < target {
        let high = signers[u].ordering.high
        _ = signers[u].clean(to: random.uint((high + 1)...(target - 1)))
      }
    }
    let to = recipients()
    var out: [(pillar: Int, out: Outgoing)] = []
    for u in pillars.indices {
      guard let viewChange = buildViewChange(pillar: pillars[u], u: u, toView: target) else {
        continue
      }
      knowledge[u].add(viewChange)
      forged[u] = viewChange
      out += send(.viewChange(viewChange), pillar: u, to: to)
    }
    return out
  }

  /// See ``AdversaryProfile/Move/rewriteHistory``: in every pillar, PREPAREs of the
  /// first view v it leads above its counter and the replica's view, for every order
  /// number from the window's start to one past the highest it saw prepared, with
  /// other batches; its counter cleaned to [v+1|0]; then a VIEW-CHANGE for a view
  /// above v+1 with an old `fromView` that carries them.
  mutating func rewriteHistory(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    guard !runsAway(pillars) else { return [] }
    var out: [(pillar: Int, out: Outgoing)] = []
    // First push the group into a view change (its VIEW-CHANGE for the next view
    // makes f+1 with a stalled correct replica's), while its counter still allows it.
    let next = pillars.map { $0.targetView ?? $0.view }.max()! + 1
    if signers.allSatisfy({ $0.ordering.high < next }), random.chance(0.7) {
      for u in pillars.indices {
        guard
          let viewChange = buildViewChange(
            pillar: pillars[u], u: u, toView: next, forcing: .highest, honest: true)
        else { continue }
        knowledge[u].add(viewChange)
        out += send(.viewChange(viewChange), pillar: u, to: others)
      }
    }
    var highest: View = 0
    for u in pillars.indices {
      let pillar = pillars[u]
      let counter = signers[u].ordering
      let lowest = max(counter.high + 1, (pillar.targetView ?? pillar.view) + 1)
      guard
        let view = (lowest...(lowest + 2 * n)).first(where: {
          configuration.leader(of: $0, pillar: u) == replica
        })
      else { continue }
      let seen = knowledge[u].prepares.keys.filter { $0.view < view }.map(\.order).max() ?? 0
      let last = min(pillar.highWaterMark, max(seen, pillar.lowWaterMark) + 1)
      for order in (pillar.lowWaterMark + 1)...max(pillar.lowWaterMark + 1, last) {
        let known = knowledge[u].prepares(at: order).last?.batch
        var batch = pickBatch(pillar: u)
        if batch == known {
          let requests = knowledge[u].requests.filter { !(known?.requests.contains($0) ?? false) }
          batch =
            known != .empty
            ? .empty
            : requests.isEmpty ? Self.marker(order) : Batch(requests: [random.pick(requests)])
        }
        let digest = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
        guard
          let certificate = signers[u].independent(
            CounterLayout.flattened(view: view, order: order), over: digest)
        else { break }
        knowledge[u].add(
          Prepare(view: view, order: order, batch: batch, certificate: certificate), own: true)
      }
      _ = signers[u].clean(to: view + 1)
      highest = max(highest, view + 1)
    }
    let target = max(highest, signers.map(\.ordering.high).max()!) + 1 + random.uint(0...1)
    let to = recipients()
    for u in pillars.indices {
      guard
        let viewChange = buildViewChange(
          pillar: pillars[u], u: u, toView: target, forcing: .ownFirst)
      else { continue }
      knowledge[u].add(viewChange)
      forged[u] = viewChange
      out += send(.viewChange(viewChange), pillar: u, to: to)
    }
    return out
  }

  /// A batch of one request that no client sent (a correct follower never commits
  /// it, but a NEW-VIEW may re-propose it).
  static func marker(_ order: OrderNumber) -> Batch {
    Batch(requests: [
      Request(client: 0, lane: 9_999, sequence: order, operation: [0xAD], authenticator: [])
    ])
  }

  /// One pillar's VIEW-CHANGE for `target`, certified by its signer.
  mutating func buildViewChange(
    pillar: OrderingPillar, u: Int, toView target: View, forcing forced: PrepareChoice? = nil,
    honest: Bool = false
  ) -> ViewChange? {
    let previous = signers[u].ordering
    guard previous.high < target else { return nil }
    let window = pillar.windowSize
    // The checkpoint: the highest seen, its pillar's, any seen one, or none.
    let known = knowledge[u].stable.values.sorted { $0.order < $1.order }
    var checkpoint: StableCheckpoint?
    switch honest ? 1 : random.int(0...3) {
    case 0: checkpoint = known.last
    case 1: checkpoint = pillar.stableCheckpoint
    case 2: checkpoint = known.randomPick(&random)
    default: checkpoint = nil
    }
    if previous.low > 0, previous.low > (checkpoint?.order ?? 0) + window {
      // The certificate shows an order number beyond that checkpoint's window.
      checkpoint = known.last { previous.low <= $0.order + window } ?? checkpoint
    }
    let low = checkpoint?.order ?? 0
    // fromView: with an order message in view h on the counter, h up to target − 1;
    // with a clean counter [h|0], anything up to h.
    let range: ClosedRange<View> =
      previous.low > 0 ? previous.high...(target - 1) : 0...min(previous.high, target - 1)
    let fromView: View
    switch honest ? 2 : random.int(0...3) {
    case 0: fromView = range.lowerBound
    case 1: fromView = range.upperBound
    case 2: fromView = min(max(pillar.view, range.lowerBound), range.upperBound)
    default: fromView = random.uint(range)
    }
    let choice = forced ?? PrepareChoice.allCases.randomPick(&random)!
    var prepares: [Prepare] = []
    for order in (low + 1)...(low + window) {
      let candidates = knowledge[u].prepares(at: order).filter { $0.view < target }
      // Its counter shows order messages of view previous.high up to previous.low: with
      // that fromView it must reveal a PREPARE of that view for each.
      if fromView == previous.high, order <= previous.low,
        let revealed = candidates.last(where: { $0.view == previous.high })
      {
        prepares.append(revealed)
        continue
      }
      guard !candidates.isEmpty else { continue }
      switch choice {
      case .highest: prepares.append(candidates.last!)
      case .ownFirst:
        let own = candidates.last {
          knowledge[u].own.contains(.init(view: $0.view, order: $0.order))
        }
        prepares.append(own ?? candidates.last!)
      case .random: if random.chance(0.7) { prepares.append(random.pick(candidates)) }
      case .none: break
      }
    }
    let digest = ViewChange.certifiedDigest(
      replica: replica, fromView: fromView, toView: target, checkpoint: checkpoint,
      prepares: prepares)
    guard
      let certificate = signers[u].continuing(
        to: CounterLayout.flattened(view: target, order: 0), over: digest)
    else { return nil }
    return ViewChange(
      replica: replica, fromView: fromView, toView: target, checkpoint: checkpoint,
      prepares: prepares, certificate: certificate)
  }
}
