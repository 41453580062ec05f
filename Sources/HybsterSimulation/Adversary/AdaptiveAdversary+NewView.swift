import HybsterCore
import TrInX

/// The adversary's NEW-VIEWs and NEW-VIEW-ACKs (§5.2.3, parts per pillar §5.3.3):
/// assembled from the VIEW-CHANGEs and NEW-VIEW-ACKs it has seen, for any view with a
/// quorum of them — for views it leads with its own re-proposals, and for views it
/// does not lead whenever the plan needs no PREPARE (a part nobody certified).
extension AdaptiveAdversary {
  /// How it computes the re-proposals of a candidate NEW-VIEW. The receivers'
  /// validator decides which candidate is valid; a dry run on a copy of the
  /// instance tries each before the signer certifies the one that passes.
  enum PlanRule: CaseIterable {
    /// Per order number the PREPARE of the highest view (the original rule).
    case highestView
    /// Only PREPAREs of views up to the vouched `fromView`.
    case vouchedOnly
    /// No re-proposals at all.
    case empty
  }

  /// NEW-VIEW parts for a view with a quorum of seen VIEW-CHANGEs, from every pillar
  /// that can build one, to the replicas it picks.
  mutating func newViews(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    let views = knowledge[0].viewChanges.filter { $0.value.count >= configuration.quorum }.keys
      .sorted()
    guard !views.isEmpty else { return [] }
    let view = random.chance(0.6) ? views.last! : random.pick(views)
    let to = recipients()
    var out: [(pillar: Int, out: Outgoing)] = []
    for u in pillars.indices {
      guard let newView = buildNewView(view, pillar: pillars[u], u: u) else { continue }
      knowledge[u].add(newView)
      out += send(.newView(newView), pillar: u, to: to)
    }
    return out
  }

  /// A NEW-VIEW part for `view` in pillar `u` that its validator accepts, if one of
  /// the candidates is.
  mutating func buildNewView(_ view: View, pillar: OrderingPillar, u: Int) -> NewView? {
    let received = knowledge[u].viewChanges[view] ?? [:]
    guard received.count >= configuration.quorum else { return nil }
    let leads = configuration.leader(of: view, pillar: u) == replica
    let all = received.values.sorted { $0.replica < $1.replica }
    var subsets = [all]
    for _ in 0..<3 {
      let subset = random.shuffled(all).prefix(configuration.quorum).sorted {
        $0.replica < $1.replica
      }
      if !subsets.contains(subset) { subsets.append(subset) }
    }
    for subset in subsets {
      let base = subset.map(\.fromView).max() ?? 0
      let acks = (knowledge[u].acks[base] ?? [:]).values.sorted { $0.replica < $1.replica }
      for rule in random.shuffled(PlanRule.allCases) {
        let assignments = Self.plan(
          rule, viewChanges: subset, acknowledgments: acks, window: pillar.windowSize)
        if !leads, !assignments.isEmpty { continue }
        // A process-independent key (Swift's `Hasher` is seeded per process).
        var key = StableHasher()
        key.combine(view)
        key.combine(u)
        for viewChange in subset { key.combine(viewChange) }
        key.combine(UInt64.max)
        for ack in acks { key.combine(ack) }
        key.combine(UInt64.max)
        for (order, batch) in assignments {
          key.combine(order)
          key.combine(batch)
        }
        guard tried.insert(key.finalized).inserted else { continue }
        if tried.count > 4096 { tried.removeAll() }
        // The dry run: certified on a copy, checked with the receivers' validator.
        var scratch = signers[u].scratch
        var trial: [Prepare] = []
        for (order, batch) in assignments {
          let digest = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
          guard
            let certificate = try? scratch.certifyIndependent(
              counter: CounterLayout.ordering,
              newValue: CounterLayout.flattened(view: view, order: order), message: digest)
          else { break }
          trial.append(Prepare(view: view, order: order, batch: batch, certificate: certificate))
        }
        guard trial.count == assignments.count,
          pillar.isValidViewChangePart(
            .newView(
              NewView(view: view, viewChanges: subset, acknowledgments: acks, prepares: trial)))
        else { continue }
        // The real thing, from the one counter.
        var prepares: [Prepare] = []
        for (order, batch) in assignments {
          let digest = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
          guard
            let certificate = signers[u].independent(
              CounterLayout.flattened(view: view, order: order), over: digest)
          else { return nil }
          let prepare = Prepare(view: view, order: order, batch: batch, certificate: certificate)
          knowledge[u].add(prepare, own: true)
          prepares.append(prepare)
        }
        return NewView(view: view, viewChanges: subset, acknowledgments: acks, prepares: prepares)
      }
    }
    return nil
  }

  /// The re-proposals a NEW-VIEW built by `rule` carries: for consecutive order
  /// numbers above the highest checkpoint up to the highest chosen PREPARE, that
  /// PREPARE's batch, no-ops in the gaps.
  static func plan(
    _ rule: PlanRule, viewChanges: [ViewChange], acknowledgments: [NewViewAck],
    window: UInt64
  ) -> [(order: OrderNumber, batch: Batch)] {
    guard rule != .empty else { return [] }
    return NewViewPlan(
      viewChanges: viewChanges, acknowledgments: acknowledgments, windowSize: window,
      admitUnvouched: rule == .highestView
    ).assignments
  }

  /// NEW-VIEW-ACK parts for one view from every pillar: the PREPAREs of a seen
  /// NEW-VIEW of that view (all, or some), its own or seen PREPAREs of that view, or
  /// none — an acknowledgment vouches for the view either way.
  mutating func acknowledgments(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    var views = Set(knowledge[0].newViews.keys)
    views.formUnion(knowledge[0].prepares.keys.map(\.view))
    let current = pillars.map(\.view).max()!
    for step in 0...3 { views.insert(current + View(step)) }
    let view = random.pick(views.sorted())
    let to = recipients()
    let mode = random.int(0...3)
    var out: [(pillar: Int, out: Outgoing)] = []
    for u in pillars.indices {
      let known = knowledge[u]
      var prepares: [Prepare]
      switch mode {
      case 0: prepares = known.newViews[view]?.prepares ?? []
      case 1:
        prepares = (known.newViews[view]?.prepares ?? []).filter { _ in random.chance(0.6) }
      case 2:
        prepares = known.prepares.values.filter { $0.view == view }.sorted { $0.order < $1.order }
      default: prepares = []
      }
      let digest = NewViewAck.certifiedDigest(replica: replica, view: view, prepares: prepares)
      guard let certificate = signers[u].trustedMAC(over: digest) else { continue }
      let ack = NewViewAck(
        replica: replica, view: view, prepares: prepares, certificate: certificate)
      knowledge[u].add(ack)
      out += send(.newViewAck(ack), pillar: u, to: to)
    }
    return out
  }
}
