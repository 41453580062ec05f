import HybsterCore
import TrInX

/// A Byzantine replica as strong as the fault model (DESIGN.md, "The adversary we
/// defend against"; issue 10, item 2): it may send any message its own TrInX
/// instances can certify — PREPAREs of any view it leads (also views never
/// established), VIEW-CHANGEs for any target with any `fromView` after moving its
/// counter forward, its own certified PREPAREs embedded anywhere, NEW-VIEWs and
/// NEW-VIEW-ACKs assembled from what it has seen — and replay or recombine every
/// valid message of another replica it has seen, each to the replicas it picks.
///
/// It runs a real ``ReplicaPillars`` (so its lies stay plausible and it keeps up
/// with the group), but its pillars certify on copies: everything they send is
/// certified again by the adversary's one ``AdversarySigner`` per pillar (§5.3.1:
/// one TrInX instance per pillar), so a counter value is never certified for two
/// messages, and a VIEW-CHANGE's continuing certificate shows the counter's true
/// previous value (§5.2.3), whatever the adversary certified meanwhile.
struct AdaptiveAdversary: Sendable {
  let replica: ReplicaID
  let configuration: ProtocolConfiguration
  var signers: [AdversarySigner]
  var knowledge: [AdversaryKnowledge]
  var random: SimulationRandom
  var profile: AdversaryProfile
  /// NEW-VIEW candidates already tried (bounded).
  var tried: Set<UInt64> = []
  /// Moves made, by kind (for tests and reports).
  var moves: [AdversaryProfile.Move: Int] = [:]
  /// Its latest VIEW-CHANGE parts of its own making, resent like a correct replica's
  /// (receivers take VIEW-CHANGEs only for the next view or two, §5.2.3).
  var forged: [Int: ViewChange] = [:]
  var ticks = 0
  /// A directed attack in place of the random moves (see ``AttackCampaign``).
  var campaign: AttackCampaign?

  /// An adversary for `replica` whose pillars have the instances `trinx` (by pillar).
  init(
    replica: ReplicaID, configuration: ProtocolConfiguration, trinx: [TrInXInstance],
    random: SimulationRandom
  ) {
    self.replica = replica
    self.configuration = configuration
    signers = trinx.map(AdversarySigner.init(trinx:))
    knowledge = Array(repeating: AdversaryKnowledge(), count: trinx.count)
    var random = random
    profile = AdversaryProfile(&random, replica: replica, configuration: configuration)
    self.random = random
  }

  var others: [ReplicaID] { configuration.replicas.filter { $0 != replica } }
  var n: UInt64 { UInt64(configuration.replicaCount) }

  // MARK: - What it sees

  /// A client request reached the replica: authentic, so it may go into batches.
  mutating func observe(_ request: Request) {
    for u in knowledge.indices { knowledge[u].add(request) }
  }

  /// A message reached pillar `u`: kept if a correct pillar would accept it.
  mutating func observe(_ message: ProtocolMessage, pillar u: Int, validator: OrderingPillar) {
    guard u >= 0, u < knowledge.count else { return }
    switch message {
    case .prepare(let prepare):
      if isValid(prepare, pillar: u) { knowledge[u].add(prepare) }
    case .commit(let commit):
      if isValid(commit, pillar: u) { knowledge[u].add(commit) }
    case .checkpoint(let checkpoint):
      if isValid(checkpoint) { knowledge[u].add(checkpoint) }
    case .viewChange(let viewChange):
      guard knowledge[u].viewChanges[viewChange.toView]?[viewChange.replica] != viewChange,
        validator.isValidViewChangePart(message)
      else { return }
      knowledge[u].add(viewChange)
    case .newView(let newView):
      guard knowledge[u].newViews[newView.view] != newView,
        validator.isValidViewChangePart(message)
      else { return }
      knowledge[u].add(newView)
    case .newViewAck(let ack):
      guard knowledge[u].acks[ack.view]?[ack.replica] != ack,
        validator.isValidViewChangePart(message)
      else { return }
      knowledge[u].add(ack)
    case .forwardedRequest, .status:
      break
    }
  }

  func isValid(_ prepare: Prepare, pillar u: Int) -> Bool {
    let leader = configuration.leader(of: prepare.view, pillar: u)
    return isOrderCertificate(
      prepare.certificate, by: leader, pillar: u, view: prepare.view, order: prepare.order,
      over: Prepare.certifiedDigest(
        view: prepare.view, order: prepare.order, batchDigest: prepare.batch.digest))
  }

  func isValid(_ commit: Commit, pillar u: Int) -> Bool {
    configuration.replicas.contains(commit.replica)
      && isOrderCertificate(
        commit.certificate, by: commit.replica, pillar: u, view: commit.view, order: commit.order,
        over: Commit.certifiedDigest(
          view: commit.view, order: commit.order, batchDigest: commit.batchDigest))
  }

  func isOrderCertificate(
    _ certificate: Certificate, by issuer: ReplicaID, pillar u: Int, view: View,
    order: OrderNumber, over digest: Digest
  ) -> Bool {
    certificate.issuer == configuration.trinxInstance(of: issuer, pillar: u)
      && certificate.counter == CounterLayout.ordering && certificate.previousValue == nil
      && certificate.newValue == CounterLayout.flattened(view: view, order: order)
      && signers[u].verify(certificate, over: digest)
  }

  func isValid(_ checkpoint: CheckpointMessage) -> Bool {
    guard configuration.replicas.contains(checkpoint.replica) else { return false }
    let owner = configuration.layout.checkpointPillar(
      ofLocal: checkpoint.order, interval: configuration.checkpointInterval)
    let certificate = checkpoint.certificate
    return certificate.issuer == configuration.trinxInstance(of: checkpoint.replica, pillar: owner)
      && certificate.counter == CounterLayout.checkpoint && certificate.isTrustedMAC
      && signers[owner].verify(
        certificate,
        over: CheckpointMessage.certifiedDigest(
          order: checkpoint.order, stateDigest: checkpoint.stateDigest))
  }

  // MARK: - What its real pillars send

  /// Certifies again, with the one counter, what pillar `u` wants to send; drops
  /// what that counter refuses, and what the profile withholds from a recipient.
  mutating func transform(_ wanted: [Outgoing], pillar u: Int) -> [Outgoing] {
    var out: [Outgoing] = []
    for var item in wanted {
      if let campaign, !campaign.allowsOwn(item.message, to: item.to) { continue }
      guard let message = recertify(item.message, pillar: u) else { continue }
      learnOwn(message, pillar: u)
      if profile.withheld[MessageKind(message)]?.contains(item.to) == true { continue }
      item.message = message
      out.append(item)
    }
    return out
  }

  mutating func learnOwn(_ message: ProtocolMessage, pillar u: Int) {
    switch message {
    case .prepare(let p) where p.certificate.issuer == signers[u].id:
      knowledge[u].add(p, own: true)
    case .viewChange(let v) where v.replica == replica: knowledge[u].add(v)
    case .newView(let v): knowledge[u].add(v)
    case .newViewAck(let a) where a.replica == replica: knowledge[u].add(a)
    case .checkpoint(let c) where c.replica == replica: knowledge[u].add(c)
    default: break
    }
  }

  /// The message with every certificate of this replica's pillar `u` on the
  /// ordering counter issued by the signer; nil if the counter refuses one.
  mutating func recertify(_ message: ProtocolMessage, pillar u: Int) -> ProtocolMessage? {
    switch message {
    case .prepare(let prepare):
      return recertify(prepare, pillar: u).map { .prepare($0) }
    case .commit(var commit):
      guard commit.certificate.issuer == signers[u].id else { return message }
      let digest = Commit.certifiedDigest(
        view: commit.view, order: commit.order, batchDigest: commit.batchDigest)
      guard
        let certificate = signers[u].independent(
          CounterLayout.flattened(view: commit.view, order: commit.order), over: digest)
      else { return nil }
      commit.certificate = certificate
      return .commit(commit)
    case .viewChange(let viewChange):
      return recertify(viewChange, pillar: u).map { .viewChange($0) }
    case .newView(var newView):
      var prepares: [Prepare] = []
      for prepare in newView.prepares {
        guard let certified = recertify(prepare, pillar: u) else { return nil }
        prepares.append(certified)
      }
      newView.prepares = prepares
      var viewChanges: [ViewChange] = []
      for viewChange in newView.viewChanges {
        guard let certified = recertify(viewChange, pillar: u) else { return nil }
        viewChanges.append(certified)
      }
      newView.viewChanges = viewChanges
      return .newView(newView)
    case .newViewAck(var ack):
      var prepares: [Prepare] = []
      for prepare in ack.prepares {
        guard let certified = recertify(prepare, pillar: u) else { return nil }
        prepares.append(certified)
      }
      ack.prepares = prepares
      return .newViewAck(ack)
    case .checkpoint, .forwardedRequest, .status:
      // Trusted MACs on the checkpoint counter, which only ever issues trusted MACs:
      // the pillar's copy issues exactly what the signer would.
      return message
    }
  }

  mutating func recertify(_ prepare: Prepare, pillar u: Int) -> Prepare? {
    guard prepare.certificate.issuer == signers[u].id else { return prepare }
    var prepare = prepare
    let digest = Prepare.certifiedDigest(
      view: prepare.view, order: prepare.order, batchDigest: prepare.batch.digest)
    guard
      let certificate = signers[u].independent(
        CounterLayout.flattened(view: prepare.view, order: prepare.order), over: digest)
    else { return nil }
    prepare.certificate = certificate
    return prepare
  }

  mutating func recertify(_ viewChange: ViewChange, pillar u: Int) -> ViewChange? {
    guard viewChange.replica == replica, viewChange.certificate.issuer == signers[u].id else {
      return viewChange
    }
    var viewChange = viewChange
    var prepares: [Prepare] = []
    for prepare in viewChange.prepares {
      guard let certified = recertify(prepare, pillar: u) else { return nil }
      prepares.append(certified)
    }
    viewChange.prepares = prepares
    guard
      let certificate = signers[u].continuing(
        to: CounterLayout.flattened(view: viewChange.toView, order: 0),
        over: viewChange.certifiedDigest)
    else { return nil }
    viewChange.certificate = certificate
    return viewChange
  }

  // MARK: - Its own moves

  /// On each tick: perhaps one move of the profile's menu. Returns what to send, by
  /// pillar.
  mutating func act(pillars: [OrderingPillar]) -> [(pillar: Int, out: Outgoing)] {
    guard campaign == nil else { return [] }
    for (u, pillar) in pillars.enumerated() {
      if let stable = pillar.stableCheckpoint { knowledge[u].add(stable) }
    }
    ticks += 1
    var resent: [(pillar: Int, out: Outgoing)] = []
    if ticks % 4 == 0 {
      for (u, viewChange) in forged.sorted(by: { $0.key < $1.key }) {
        resent += send(.viewChange(viewChange), pillar: u, to: others)
      }
    }
    guard random.chance(profile.rate) else { return resent }
    let move = profile.move(&random)
    moves[move, default: 0] += 1
    switch move {
    case .futurePrepare: return resent + futurePrepare(pillars: pillars)
    case .clean: clean(pillars: pillars)
    case .viewChange: return resent + viewChanges(pillars: pillars)
    case .newView: return resent + newViews(pillars: pillars)
    case .acknowledge: return resent + acknowledgments(pillars: pillars)
    case .replay: return resent + replay(pillars: pillars)
    case .commit: return resent + commit(pillars: pillars)
    case .checkpoint: return resent + checkpoint(pillars: pillars)
    case .rewriteHistory: return resent + rewriteHistory(pillars: pillars)
    }
    return resent
  }

  /// Whether its counters ran so far ahead of the group's views that moving them
  /// further would only make it silent.
  func runsAway(_ pillars: [OrderingPillar]) -> Bool {
    let group = pillars.map { $0.targetView ?? $0.view }.max()!
    return signers.map(\.ordering.high).max()! > group + 3 * n
  }

  /// The replicas a move goes to: all others, or a subset it picks.
  mutating func recipients() -> [ReplicaID] {
    if random.chance(0.4) { return others }
    return random.shuffled(others).prefix(random.int(1...others.count)).sorted()
  }

  /// `message` to each of `recipients`, some of them late.
  mutating func send(_ message: ProtocolMessage, pillar u: Int, to recipients: [ReplicaID])
    -> [(pillar: Int, out: Outgoing)]
  {
    recipients.map { to in
      (
        u,
        Outgoing(
          message: message, to: to, extraDelay: random.chance(0.2) ? random.uint(0...40_000) : 0)
      )
    }
  }
}
