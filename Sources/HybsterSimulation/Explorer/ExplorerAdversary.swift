import HybsterCore
import TrInX

/// The explorer's Byzantine replica (DESIGN.md, "The adversary we defend
/// against"): it runs no protocol code. It holds its own TrInX instances, one per
/// pillar (§5.3.1), and every message sent to it; it certifies whatever those
/// counters allow and sends what it holds (``ByzantineMenu`` lists the moves).
/// It cannot forge another instance's certificate, move a counter backwards or
/// certify two messages for one independent counter value: TrInX refuses.
struct ExplorerAdversary: Sendable {
  /// A message the adversary holds.
  struct Held: Sendable {
    var pillar: Int
    var message: ProtocolMessage
    var key: MessageKey
    var fingerprint: UInt64
    /// Certified by the adversary itself.
    var own: Bool
  }

  let replica: ReplicaID
  let configuration: ProtocolConfiguration
  /// One TrInX instance per pillar.
  var trinx: [TrInXInstance]
  /// Held messages by (pillar, fingerprint) hash.
  var held: [UInt64: Held] = [:]

  init(replica: ReplicaID, configuration: ProtocolConfiguration, groupKey: [UInt8]) {
    self.replica = replica
    self.configuration = configuration
    trinx = (0..<configuration.pillarCount).map { u in
      // Force-unwrap: the key has 32 bytes by construction.
      try! TrInXInstance(
        id: configuration.trinxInstance(of: replica, pillar: u), counterCount: CounterLayout.count,
        key: groupKey)
    }
  }

  static func slot(pillar: Int, fingerprint: UInt64) -> UInt64 {
    var hasher = StableHasher()
    hasher.combine(pillar)
    hasher.combine(fingerprint)
    return hasher.finalized
  }

  /// Takes a message sent to it (or one it certified).
  mutating func hold(_ message: ProtocolMessage, pillar: Int, sender: ReplicaID, own: Bool) {
    let fingerprint = StableHasher.fingerprint(message)
    let slot = Self.slot(pillar: pillar, fingerprint: fingerprint)
    guard held[slot] == nil else { return }
    held[slot] = Held(
      pillar: pillar, message: message,
      key: MessageKey(message, sender: sender, pillar: pillar, configuration: configuration),
      fingerprint: fingerprint, own: own)
  }

  /// The held messages in a deterministic order.
  var sortedHeld: [Held] {
    held.values.sorted { ($0.pillar, $0.key, $0.fingerprint) < ($1.pillar, $1.key, $1.fingerprint) }
  }

  /// The ordering counter of pillar `pillar`.
  func counter(_ pillar: Int) -> CounterValue {
    // Force-try: the ordering counter exists in every pillar's instance.
    try! trinx[pillar].value(of: CounterLayout.ordering)
  }

  /// The fingerprint of everything the adversary holds and its counters.
  var fingerprint: UInt64 {
    var hasher = StableHasher()
    for pillar in trinx.indices { hasher.combine(counter(pillar)) }
    hasher.combine(StableHasher.unordered(held.keys))
    return hasher.finalized
  }

  // MARK: What it knows

  /// Every valid PREPARE of pillar `pillar` it holds, own or seen (in received
  /// PREPAREs, VIEW-CHANGEs, NEW-VIEWs and NEW-VIEW-ACKs), one per (view, order).
  func prepares(pillar: Int, own: Bool) -> [Prepare] {
    var found: [PrepareID: Prepare] = [:]
    for held in held.values where held.pillar == pillar && held.own == own {
      for prepare in Self.prepares(in: held.message) {
        found[PrepareID(view: prepare.view, order: prepare.order)] = prepare
      }
    }
    return found.keys.sorted().map { found[$0]! }
  }

  struct PrepareID: Hashable, Comparable {
    var view: View
    var order: OrderNumber
    static func < (a: PrepareID, b: PrepareID) -> Bool { (a.view, a.order) < (b.view, b.order) }
  }

  static func prepares(in message: ProtocolMessage) -> [Prepare] {
    switch message {
    case .prepare(let p): [p]
    case .viewChange(let v): v.prepares
    case .newView(let n):
      n.prepares + n.viewChanges.flatMap(\.prepares) + n.acknowledgments.flatMap(\.prepares)
    case .newViewAck(let a): a.prepares
    case .commit, .checkpoint, .forwardedRequest, .status: []
    }
  }

  /// The CHECKPOINTs it holds for pillar `pillar`, own and seen.
  func checkpoints(pillar: Int) -> [CheckpointMessage] {
    var found: [CheckpointMessage] = []
    for held in sortedHeld where held.pillar == pillar {
      if case .checkpoint(let c) = held.message { found.append(c) }
    }
    return found
  }

  /// The distinct state digests seen in CHECKPOINTs for local `order` of `pillar`.
  func checkpointDigests(pillar: Int, order: OrderNumber) -> [Digest] {
    var digests: [Digest] = []
    for c in checkpoints(pillar: pillar) where c.order == order && c.replica != replica {
      if !digests.contains(c.stateDigest) { digests.append(c.stateDigest) }
    }
    return digests
  }

  /// The highest stable checkpoint it can prove in pillar `pillar`: one carried by
  /// a held VIEW-CHANGE or NEW-VIEW, or f+1 matching CHECKPOINTs it holds.
  func stableCheckpoint(pillar: Int) -> StableCheckpoint? {
    var best: StableCheckpoint?
    func consider(_ candidate: StableCheckpoint?) {
      guard let candidate, candidate.order > (best?.order ?? 0) else { return }
      best = candidate
    }
    for held in sortedHeld where held.pillar == pillar {
      switch held.message {
      case .viewChange(let v): consider(v.checkpoint)
      case .newView(let n): for v in n.viewChanges { consider(v.checkpoint) }
      default: break
      }
    }
    // Any checkpoint pillar's CHECKPOINTs prove it; the VIEW-CHANGE carries them.
    var byDigest: [PrepareID: [CheckpointMessage]] = [:]
    for u in 0..<configuration.pillarCount {
      for c in checkpoints(pillar: u) {
        byDigest[PrepareID(view: Self.digestWord(c.stateDigest), order: c.order), default: []]
          .append(c)
      }
    }
    for id in byDigest.keys.sorted() {
      var proof: [CheckpointMessage] = []
      for c in byDigest[id]! where !proof.contains(where: { $0.replica == c.replica }) {
        proof.append(c)
      }
      if proof.count >= configuration.quorum {
        let sorted = Array(proof.sorted { $0.replica < $1.replica }.prefix(configuration.quorum))
        consider(
          StableCheckpoint(order: id.order, stateDigest: sorted[0].stateDigest, proof: sorted))
      }
    }
    return best
  }

  static func digestWord(_ digest: Digest) -> UInt64 {
    digest.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
  }
}

extension MessageKey {
  /// Names `message` as received by pillar `pillar` from `sender`: a PREPARE or
  /// NEW-VIEW by the leader of its view, whoever relayed it.
  init(
    _ message: ProtocolMessage, sender: ReplicaID, pillar: Int,
    configuration: ProtocolConfiguration
  ) {
    self.init(message, sender: sender)
    switch message {
    case .prepare(let p): origin = configuration.leader(of: p.view, pillar: pillar)
    case .newView(let n): origin = configuration.leader(of: n.view, pillar: pillar)
    default: break
    }
  }
}
