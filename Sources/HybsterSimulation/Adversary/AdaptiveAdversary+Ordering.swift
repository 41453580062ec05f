import HybsterCore
import TrInX

/// The adversary's moves on ordering and checkpoint messages (§5.2.1, §5.2.2), and
/// its replays.
extension AdaptiveAdversary {
  /// A batch it picks: empty, a seen batch (another order's), or seen requests.
  mutating func pickBatch(pillar u: Int) -> Batch {
    let known = knowledge[u]
    switch random.int(0...3) {
    case 1 where !known.batches.isEmpty: return random.pick(known.batches)
    case 2 where !known.requests.isEmpty:
      let count = random.int(1...min(configuration.maxBatchSize, known.requests.count))
      return Batch(requests: Array(random.shuffled(known.requests).prefix(count)))
    case 3 where !known.prepares.isEmpty:
      // By (order, view): the keys are unique, so the pick does not depend on the
      // dictionary's iteration order (several views' PREPAREs share an order number).
      return known.prepares[random.pick(known.prepares.keys.sorted())]!.batch
    default: return .empty
    }
  }

  /// An order number of pillar `pillar`'s window, often one of its first (those
  /// most likely committed already).
  mutating func pickOrder(_ pillar: OrderingPillar) -> OrderNumber {
    let low = pillar.lowWaterMark + 1
    if random.chance(0.6) { return low + random.uint(0...min(3, pillar.windowSize - 1)) }
    return random.uint(low...pillar.highWaterMark)
  }

  /// A certified PREPARE of a view it leads in a pillar — the current one or a later
  /// one nobody established — at an order of the window, to some replicas.
  mutating func futurePrepare(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    guard !runsAway(pillars) else { return [] }
    let u = random.int(0...(pillars.count - 1))
    let pillar = pillars[u]
    let counter = signers[u].ordering
    let lowest = max(counter.high, pillar.view)
    let views = (lowest...(lowest + 2 * n)).filter {
      configuration.leader(of: $0, pillar: u) == replica
    }
    guard !views.isEmpty else { return [] }
    // Mostly the nearest views: the ones a view change may reach soon.
    let view = random.chance(0.6) ? views[0] : random.pick(views)
    var order = pickOrder(pillar)
    if view == counter.high, order <= counter.low { order = counter.low + 1 }
    guard order <= pillar.highWaterMark else { return [] }
    let batch = pickBatch(pillar: u)
    let digest = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
    guard
      let certificate = signers[u].independent(
        CounterLayout.flattened(view: view, order: order), over: digest)
    else { return [] }
    let prepare = Prepare(view: view, order: order, batch: batch, certificate: certificate)
    knowledge[u].add(prepare, own: true)
    return send(.prepare(prepare), pillar: u, to: recipients())
  }

  /// Moves the ordering counters forward to [v|0] ("cleaning"): in every pillar or
  /// in one.
  mutating func clean(pillars: [OrderingPillar]) {
    guard !runsAway(pillars) else { return }
    let all = random.chance(0.6)
    let chosen = random.int(0...(pillars.count - 1))
    let step = random.uint(1...2)
    for u in pillars.indices where all || u == chosen {
      _ = signers[u].clean(to: max(signers[u].ordering.high + 1, pillars[u].view + step))
    }
  }

  /// A COMMIT for a seen PREPARE of another leader (or, now and then, for another
  /// batch), of any view its counter has not passed.
  mutating func commit(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    let u = random.int(0...(pillars.count - 1))
    let counter = signers[u].ordering
    let candidates = knowledge[u].prepares.values.filter {
      !knowledge[u].own.contains(.init(view: $0.view, order: $0.order))
        && configuration.leader(of: $0.view, pillar: u) != replica
        && CounterLayout.flattened(view: $0.view, order: $0.order) > counter
        && $0.order > pillars[u].lowWaterMark
    }.sorted { ($0.view, $0.order) < ($1.view, $1.order) }
    guard !candidates.isEmpty else { return [] }
    let prepare = random.pick(candidates)
    let batch = random.chance(0.7) ? prepare.batch : pickBatch(pillar: u)
    let digest = Commit.certifiedDigest(
      view: prepare.view, order: prepare.order, batchDigest: batch.digest)
    guard
      let certificate = signers[u].independent(
        CounterLayout.flattened(view: prepare.view, order: prepare.order), over: digest)
    else { return [] }
    let commit = Commit(
      view: prepare.view, order: prepare.order, batchDigest: batch.digest, replica: replica,
      certificate: certificate)
    return send(.commit(commit), pillar: u, to: recipients())
  }

  /// A CHECKPOINT vote with a digest some replica voted for (right or wrong), for
  /// a checkpoint order this pillar runs, to some replicas.
  mutating func checkpoint(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    let u = random.int(0...(pillars.count - 1))
    let votes = knowledge[u].checkpoints.values.flatMap(\.values).sorted {
      ($0.order, $0.replica) < ($1.order, $1.replica)
    }
    guard !votes.isEmpty else { return [] }
    let vote = random.pick(votes)
    let digest = random.chance(0.8) ? vote.stateDigest : random.pick(votes).stateDigest
    let owner = configuration.layout.checkpointPillar(
      ofLocal: vote.order, interval: configuration.checkpointInterval)
    guard
      let certificate = signers[owner].trustedMAC(
        over: CheckpointMessage.certifiedDigest(order: vote.order, stateDigest: digest))
    else { return [] }
    let message = CheckpointMessage(
      order: vote.order, stateDigest: digest, replica: replica, certificate: certificate)
    return send(.checkpoint(message), pillar: owner, to: recipients())
  }

  /// A seen valid message replayed to replicas it picks; a split message (§5.3.3)
  /// with every part it holds.
  mutating func replay(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    let to = recipients()
    let u = random.int(0...(pillars.count - 1))
    let known = knowledge[u]
    switch random.int(0...5) {
    case 0:
      guard let view = known.viewChanges.keys.sorted().randomPick(&random),
        let sender = known.viewChanges[view]!.keys.sorted().randomPick(&random)
      else { return [] }
      return pillars.indices.flatMap { p in
        knowledge[p].viewChanges[view]?[sender].map { send(.viewChange($0), pillar: p, to: to) }
          ?? []
      }
    case 1:
      guard let view = known.newViews.keys.sorted().randomPick(&random) else { return [] }
      return pillars.indices.flatMap { p in
        knowledge[p].newViews[view].map { send(.newView($0), pillar: p, to: to) } ?? []
      }
    case 2:
      guard let view = known.acks.keys.sorted().randomPick(&random),
        let sender = known.acks[view]!.keys.sorted().randomPick(&random)
      else { return [] }
      return pillars.indices.flatMap { p in
        knowledge[p].acks[view]?[sender].map { send(.newViewAck($0), pillar: p, to: to) } ?? []
      }
    case 3:
      guard let key = known.prepares.keys.sorted().randomPick(&random) else { return [] }
      return send(.prepare(known.prepares[key]!), pillar: u, to: to)
    case 4:
      let commits = known.commits.values.sorted {
        ($0.order, $0.view, $0.replica) < ($1.order, $1.view, $1.replica)
      }
      guard let commit = commits.randomPick(&random) else { return [] }
      return send(.commit(commit), pillar: u, to: to)
    default:
      let votes = known.checkpoints.values.flatMap(\.values).sorted {
        ($0.order, $0.replica) < ($1.order, $1.replica)
      }
      guard let vote = votes.randomPick(&random) else { return [] }
      return send(.checkpoint(vote), pillar: u, to: to)
    }
  }
}

extension Array {
  /// A random element, or nil if empty.
  func randomPick(_ random: inout SimulationRandom) -> Element? {
    isEmpty ? nil : random.pick(self)
  }
}
