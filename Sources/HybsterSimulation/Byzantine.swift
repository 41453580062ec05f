import HybsterCore
import HybsterServices
import TrInX

/// A named Byzantine behaviour a seed can give a replica (at most f of them).
///
/// A Byzantine replica runs a real ``OrderingPillar`` and execution stage, then
/// filters, mutates and adds to what the pillar sends (so that it stays
/// protocol-aware and its lies are plausible). It creates certificates only through
/// its own ``TrInXInstance`` object, never by computing MACs with the group key.
public enum ByzantineStrategy: String, Sendable, Hashable, CaseIterable, Comparable {
  /// Sends nothing at all.
  case silent
  /// Sends to a fixed subset of the replicas only.
  case selectiveSend
  /// Replays and reorders its own certified messages.
  case replayOwn
  /// Tampers with payloads under valid certificates (batches, digests, replies).
  case corruptPayload
  /// Certificates of the wrong issuer, counter or kind, made by its own TrInX.
  case wrongCertificate
  /// As leader: a conflicting PREPARE with a copied certificate to some followers;
  /// as follower: conflicting COMMITs.
  case equivocate
  /// As leader: never sends some order numbers' PREPAREs; as follower, COMMITs.
  case skipOrders
  /// Proposes (leader) or forwards (follower) requests no client sent, claiming an
  /// admitted client's id and a plausible next sequence number of a lane it saw,
  /// with a copied or garbage signature and authenticator (issue 13).
  case inventRequests
  /// Holds back its PREPAREs (leader) or COMMITs (follower).
  case delayProposals
  /// Certifies CHECKPOINTs with wrong digests, also for checkpoints not yet reached.
  case wrongCheckpoint
  /// Floods every replica and client with valid-looking junk.
  case flood
  /// In view changes: VIEW-CHANGEs that omit PREPAREs, lie about `fromView` or hide
  /// their checkpoint; NEW-VIEWs (as new leader) that drop a re-proposal, shrink the
  /// certificate or drop acknowledgments; NEW-VIEW-ACKs for the wrong view; validly
  /// certified PREPAREs of a future view it would lead, assigning no-ops (§5.2.3).
  case corruptViewChange
  /// As strong as the fault model (issue 10): certifies, with its own TrInX instances
  /// only, any PREPARE of a view it leads, VIEW-CHANGEs for any view and fromView
  /// after moving its counters on, NEW-VIEWs and NEW-VIEW-ACKs from what it saw, and
  /// replays every valid message it saw, each to replicas it picks (see
  /// ``AdaptiveAdversary``, in `AdaptiveAdversary/`).
  case adaptive

  /// The strategies a seed draws from its main stream (every strategy but
  /// ``adaptive``, in their original order, so that seeds drawn before it existed
  /// keep their strategies; ``adaptive`` replaces a draw from a separate stream).
  public static let classic: [ByzantineStrategy] = allCases.filter { $0 != .adaptive }

  /// Whether the strategy is aimed at the leader's role (a forced strategy of this
  /// kind makes the leader Byzantine).
  public var targetsLeader: Bool {
    switch self {
    case .equivocate, .skipOrders, .inventRequests, .delayProposals: true
    default: false
    }
  }

  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A message a replica puts on the network.
struct Outgoing: Sendable {
  var message: ProtocolMessage
  var to: ReplicaID
  var extraDelay: SimTime = 0
}

/// The part of a Byzantine replica outside its real pillar: it sees what the
/// pillar wants to send and decides what actually goes out.
struct ByzantineBehaviour: Sendable {
  let strategy: ByzantineStrategy
  let replica: ReplicaID
  let configuration: ProtocolConfiguration
  /// The admitted clients' ids (honest clients first).
  let clients: [ClientID]
  /// Lanes per client.
  let lanes: Int
  /// Its own TrInX instance (same id as its pillar's). The pillar's copy and this
  /// object together model one trusted counter: a certificate value issued by one
  /// is never issued again by the other (see ``admit(_:)``).
  var trinx: TrInXInstance
  /// Its own client keyring: it can make authentic replies with wrong results.
  var keyring: ClientKeyring
  var random: SimulationRandom
  /// The highest ordering-counter value the pillar issued.
  var pillarOrderingMax = CounterValue.zero
  /// The highest ordering-counter value this wrapper issued itself.
  var ownOrderingMax = CounterValue.zero
  /// Pillar certificates the trusted counter would have refused.
  var refused: Set<CounterValue> = []
  /// Its recent certified messages (for replay and corruption).
  var history: [Outgoing] = []
  /// The replicas a selective sender talks to.
  let audience: Set<ReplicaID>
  /// Orders whose PREPARE/COMMIT it withholds.
  var skipped: Set<OrderNumber> = []
  /// The last request it saw on each lane (to invent a plausible next one).
  var lastSeen: [LaneKey: Request] = [:]

  init(
    strategy: ByzantineStrategy, replica: ReplicaID, configuration: ProtocolConfiguration,
    clients: [ClientID], lanes: Int, trinx: TrInXInstance, keyring: ClientKeyring,
    random: SimulationRandom
  ) {
    self.strategy = strategy
    self.replica = replica
    self.configuration = configuration
    self.clients = clients
    self.lanes = lanes
    self.trinx = trinx
    self.keyring = keyring
    var random = random
    let others = configuration.replicas.filter { $0 != replica }
    audience = Set(random.shuffled(others).prefix(random.int(0...(others.count - 1))))
    self.random = random
  }

  var others: [ReplicaID] { configuration.replicas.filter { $0 != replica } }

  // MARK: - The trusted counter

  /// Whether the single trusted counter lets a pillar message out. A pillar
  /// certificate on the ordering counter whose value this wrapper already used (or
  /// passed) would have been refused by a real TrInX: the message is dropped.
  mutating func admit(_ message: ProtocolMessage) -> Bool {
    let certificate: Certificate
    switch message {
    case .prepare(let p): certificate = p.certificate
    case .commit(let c): certificate = c.certificate
    default: return true
    }
    guard certificate.issuer == trinx.id, certificate.counter == CounterLayout.ordering else {
      return true
    }
    let value = certificate.newValue
    if refused.contains(value) { return false }
    if value > pillarOrderingMax {
      if value <= ownOrderingMax {
        refused.insert(value)
        return false
      }
      pillarOrderingMax = value
    }
    return true
  }

  /// Brings this TrInX object up to what the pillar's copy issued, through the
  /// instance's own API (a discarded continuing certificate).
  mutating func syncCounter() {
    guard let current = try? trinx.value(of: CounterLayout.ordering), pillarOrderingMax > current
    else { return }
    _ = try? trinx.certifyContinuing(
      counter: CounterLayout.ordering, newValue: pillarOrderingMax, message: Digest.zero)
  }

  /// An independent ordering certificate for `value` from its own TrInX, if the
  /// trusted counter allows it.
  mutating func certifyOrdering(_ value: CounterValue, over digest: Digest) -> Certificate? {
    syncCounter()
    guard
      let certificate = try? trinx.certifyIndependent(
        counter: CounterLayout.ordering, newValue: value, message: digest)
    else { return nil }
    ownOrderingMax = max(ownOrderingMax, value)
    return certificate
  }

  // MARK: - Outgoing traffic

  /// Turns what the pillar wants to send into what goes on the wire.
  mutating func transform(_ wanted: [Outgoing], pillar: OrderingPillar) -> [Outgoing] {
    var out: [Outgoing] = []
    for item in wanted where admit(item.message) {
      switch item.message {
      case .prepare, .commit, .checkpoint, .viewChange:
        history.append(item)
        if history.count > 64 { history.removeFirst() }
      default: break
      }
      mutate(item, pillar: pillar, into: &out)
    }
    if strategy == .replayOwn, !history.isEmpty, random.chance(0.5) {
      var old = random.pick(history)
      old.to = random.pick(others)
      old.extraDelay = random.uint(0...30_000)
      out.append(old)
    }
    return out
  }

  private mutating func mutate(_ item: Outgoing, pillar: OrderingPillar, into out: inout [Outgoing])
  {
    var item = item
    switch strategy {
    case .silent:
      return
    case .selectiveSend:
      if audience.contains(item.to) { out.append(item) }
    case .replayOwn:
      item.extraDelay = random.uint(0...30_000)
      out.append(item)
    case .corruptPayload:
      if random.chance(0.5) { item.message = corrupt(item.message) }
      out.append(item)
    case .wrongCertificate:
      if random.chance(0.6) { item.message = miscertify(item.message) }
      out.append(item)
    case .equivocate:
      out.append(equivocate(item))
    case .skipOrders:
      switch item.message {
      case .prepare(let p): if withhold(p.order) { return }
      case .commit(let c): if withhold(c.order) { return }
      default: break
      }
      out.append(item)
    case .inventRequests:
      if case .prepare(let p) = item.message {
        invent(replacing: p, item: item, pillar: pillar, into: &out)
      } else {
        out.append(item)
      }
    case .delayProposals:
      switch item.message {
      case .prepare, .commit: item.extraDelay = random.uint(10_000...150_000)
      default: break
      }
      out.append(item)
    case .wrongCheckpoint:
      if case .checkpoint(let c) = item.message {
        item.message = .checkpoint(fakeCheckpoint(order: c.order))
        out.append(item)
        // A vote for a checkpoint nobody has reached yet.
        let ahead = c.order + configuration.checkpointInterval
        out.append(Outgoing(message: .checkpoint(fakeCheckpoint(order: ahead)), to: item.to))
      } else {
        out.append(item)
      }
    case .flood, .adaptive:
      out.append(item)
    case .corruptViewChange:
      if case .viewChange(let viewChange) = item.message, item.to == others.first,
        random.chance(0.5)
      {
        sendFutureViewPrepare(after: viewChange.toView, pillar: pillar, into: &out)
      }
      item.message = corruptViewChange(item.message)
      out.append(item)
    }
  }

  /// As the leader of a view nobody established, a validly certified PREPARE of that
  /// view that assigns a no-op to an order number of the window: correct replicas
  /// must neither execute it nor let it displace what may have committed (§5.2.3).
  private mutating func sendFutureViewPrepare(
    after view: View, pillar: OrderingPillar, into out: inout [Outgoing]
  ) {
    let n = UInt64(configuration.replicaCount)
    // A view this replica leads in this pillar (with rotating leaders it may lead
    // none of the next 2n).
    guard let next = (view + 1...view + 2 * n).first(where: { pillar.leader(of: $0) == replica })
    else { return }
    var future = next
    future += n * UInt64(random.int(0...1))
    let order = pillar.lowWaterMark + 1 + UInt64(random.int(0...3))
    guard order <= pillar.highWaterMark else { return }
    let batch = Batch.empty
    let digest = Prepare.certifiedDigest(view: future, order: order, batchDigest: batch.digest)
    guard
      let certificate = certifyOrdering(
        CounterValue(high: future, low: order), over: digest)
    else { return }
    let prepare = Prepare(view: future, order: order, batch: batch, certificate: certificate)
    for to in others { out.append(Outgoing(message: .prepare(prepare), to: to)) }
  }

  private mutating func corruptViewChange(_ message: ProtocolMessage) -> ProtocolMessage {
    switch message {
    case .viewChange(var viewChange):
      switch random.int(0...2) {
      case 0 where !viewChange.prepares.isEmpty: viewChange.prepares.removeLast()
      case 1: viewChange.fromView = viewChange.fromView == 0 ? 1 : viewChange.fromView - 1
      default: viewChange.checkpoint = nil
      }
      return .viewChange(viewChange)
    case .newView(var newView):
      switch random.int(0...2) {
      case 0 where !newView.prepares.isEmpty: newView.prepares.removeLast()
      case 1 where newView.viewChanges.count > 1: newView.viewChanges.removeFirst()
      default: newView.acknowledgments = []
      }
      return .newView(newView)
    case .newViewAck(var ack):
      ack.view += 1
      return .newViewAck(ack)
    default:
      return message
    }
  }

  private mutating func withhold(_ order: OrderNumber) -> Bool {
    if skipped.contains(order) { return true }
    if random.chance(0.3), skipped.count < 64 {
      skipped.insert(order)
      return true
    }
    return false
  }

  /// A digest colluding replicas agree on without talking.
  static func fakeDigest(order: OrderNumber) -> Digest {
    var builder = DigestBuilder(tag: 0xEE)
    builder.append(order)
    return builder.finalize()
  }

  private mutating func fakeCheckpoint(order: OrderNumber) -> CheckpointMessage {
    let digest = Self.fakeDigest(order: order)
    let certified = CheckpointMessage.certifiedDigest(order: order, stateDigest: digest)
    let certificate =
      (try? trinx.trustedMAC(counter: CounterLayout.checkpoint, message: certified))
      ?? randomCertificate(counter: CounterLayout.checkpoint, value: .zero, trusted: true)
    return CheckpointMessage(
      order: order, stateDigest: digest, replica: replica, certificate: certificate)
  }

  private mutating func corrupt(_ message: ProtocolMessage) -> ProtocolMessage {
    switch message {
    case .prepare(var p):
      p.batch = alteredBatch(p.batch)
      return .prepare(p)
    case .commit(var c):
      c.batchDigest = Digest.of(random.bytes(8))
      return .commit(c)
    case .checkpoint(var c):
      c.stateDigest = Digest.of(random.bytes(8))
      return .checkpoint(c)
    default:
      return message
    }
  }

  /// A different batch made of genuine requests (so that client authentication
  /// alone does not expose it).
  private mutating func alteredBatch(_ batch: Batch) -> Batch {
    var requests = batch.requests
    switch random.int(0...2) {
    case 0 where requests.count > 1: requests.reverse()
    case 1 where !requests.isEmpty: requests.removeLast()
    default:
      if let first = requests.first { requests.append(first) } else { requests = [] }
    }
    if requests == batch.requests { requests = Array(requests.dropLast()) }
    return Batch(requests: requests)
  }

  /// Re-certifies with its own TrInX in a way receivers must reject.
  private mutating func miscertify(_ message: ProtocolMessage) -> ProtocolMessage {
    switch message {
    case .prepare(var p):
      let digest = Prepare.certifiedDigest(
        view: p.view, order: p.order, batchDigest: p.batch.digest)
      p.certificate = wrongOrderingCertificate(p.certificate, over: digest)
      return .prepare(p)
    case .commit(var c):
      let digest = Commit.certifiedDigest(view: c.view, order: c.order, batchDigest: c.batchDigest)
      c.certificate = wrongOrderingCertificate(c.certificate, over: digest)
      return .commit(c)
    case .checkpoint(var c):
      let digest = CheckpointMessage.certifiedDigest(order: c.order, stateDigest: c.stateDigest)
      switch random.int(0...2) {
      case 0:
        c.certificate.issuer = otherInstance()
      case 1:  // a trusted MAC on the ordering counter instead of the checkpoint counter
        if let certificate = try? trinx.trustedMAC(
          counter: CounterLayout.ordering, message: digest)
        {
          c.certificate = certificate
        }
      default:  // independent instead of a trusted MAC
        if let current = try? trinx.value(of: CounterLayout.checkpoint),
          let certificate = try? trinx.certifyIndependent(
            counter: CounterLayout.checkpoint,
            newValue: CounterValue(high: current.high, low: current.low + 1), message: digest)
        {
          c.certificate = certificate
        }
      }
      return .checkpoint(c)
    default:
      return message
    }
  }

  private mutating func wrongOrderingCertificate(_ original: Certificate, over digest: Digest)
    -> Certificate
  {
    switch random.int(0...2) {
    case 0:  // made by itself, but claims another replica's instance
      var certificate = original
      certificate.issuer = otherInstance()
      return certificate
    case 1:  // counter 1 (the checkpoint counter) instead of 0
      return
        (try? trinx.certifyIndependent(
          counter: CounterLayout.checkpoint, newValue: original.newValue, message: digest))
        ?? original
    default:  // continuing instead of independent (a trusted MAC at the same value)
      syncCounter()
      return
        (try? trinx.certifyContinuing(
          counter: CounterLayout.ordering, newValue: original.newValue, message: digest))
        ?? original
    }
  }

  /// Another replica's instance, or (with pillars) one of its own other pillars'.
  private mutating func otherInstance() -> TrInXInstanceID {
    random.pick(configuration.trinxInstances.filter { $0 != trinx.id })
  }

  private mutating func equivocate(_ item: Outgoing) -> Outgoing {
    var item = item
    let victims = Set(others.prefix(max(1, others.count / 2)))
    guard victims.contains(item.to) else { return item }
    switch item.message {
    case .prepare(var p):
      // It cannot certify a second batch for (v, o): it copies the certificate.
      p.batch = alteredBatch(p.batch)
      item.message = .prepare(p)
    case .commit(var c):
      c.batchDigest = Digest.of(random.bytes(8))
      item.message = .commit(c)
    default: break
    }
    return item
  }

  private mutating func invent(
    replacing p: Prepare, item: Outgoing, pillar: OrderingPillar, into out: inout [Outgoing]
  ) {
    guard random.chance(0.5) else {
      out.append(item)
      return
    }
    var forged = p
    forged.batch.requests.append(inventedRequest())
    out.append(Outgoing(message: .prepare(forged), to: item.to))  // copied certificate
    // And a validly certified PREPARE for the next order with an invented request.
    let next = CounterValue(high: p.view, low: max(pillarOrderingMax.low, ownOrderingMax.low) + 1)
    let batch = Batch(requests: [inventedRequest()])
    let digest = Prepare.certifiedDigest(
      view: next.high, order: next.low, batchDigest: batch.digest)
    if item.to == others.first, next.low <= pillar.highWaterMark,
      let certificate = certifyOrdering(next, over: digest)
    {
      let prepare = Prepare(
        view: next.high, order: next.low, batch: batch, certificate: certificate)
      for to in others { out.append(Outgoing(message: .prepare(prepare), to: to)) }
    }
  }

  /// Remembers the latest request of each lane (a replica sees every request sent
  /// to it).
  mutating func observe(_ request: Request) {
    if let known = lastSeen[request.key], known.sequence >= request.sequence { return }
    guard lastSeen[request.key] != nil || lastSeen.count < 64 else { return }
    lastSeen[request.key] = request
  }

  /// A request its client never sent, as realistic as it can make one: an admitted
  /// client's id and lane with the next sequence number or the one after (so that,
  /// executed, it would take the real request's place), and the signature and
  /// authenticator of the lane's last request (valid, but over another payload) or
  /// garbage.
  mutating func inventedRequest() -> Request {
    let operation = KeyValueOperation.put(key: [0], value: random.bytes(3)).encode()
    let seen = lastSeen.keys.sorted()
    var request: Request
    if !seen.isEmpty, random.chance(0.8) {
      let base = lastSeen[random.pick(seen)]!
      request = base
      request.sequence = base.sequence + random.uint(1...2)
      request.operation = operation
      if random.chance(0.5) { return request }  // the copied signature and authenticator
    } else {
      request = Request(
        client: clients.isEmpty ? ClientID(random.uint(0...9)) : random.pick(clients),
        lane: UInt32(random.int(0...(lanes - 1))), sequence: random.uint(1...3),
        operation: operation, authenticator: [])
    }
    switch configuration.clientAuthentication {
    case .signatures:
      request.authenticator = []
      request.signature = RequestSignature(
        signature: random.bytes(RequestSignature.signatureByteCount), index: 0, path: [])
    case .macs:
      request.signature = nil
      request.authenticator = (0..<configuration.replicaCount).map { _ in randomMAC() }
    }
    return request
  }

  // MARK: - Replies and junk

  /// What it sends a client instead of `reply`.
  mutating func transform(_ reply: Reply) -> [Reply] {
    switch strategy {
    case .silent: return []
    case .selectiveSend: return random.chance(0.5) ? [reply] : []
    case .corruptPayload, .flood:
      guard random.chance(0.7) else { return [reply] }
      // Authentic (it holds its own client keys) but wrong.
      var wrong = reply
      wrong.result = random.chance(0.5) ? random.bytes(3) : reply.result + [1]
      wrong.tag = keyring.key(for: reply.client)?.tag(wrong.digest) ?? reply.tag
      return [wrong]
    default: return [reply]
    }
  }

  /// Extra traffic on each tick.
  mutating func onTick(pillar: OrderingPillar) -> (messages: [Outgoing], replies: [Reply]) {
    switch strategy {
    case .flood:
      var messages: [Outgoing] = []
      for to in others {
        for _ in 0..<random.int(1...4) {
          messages.append(Outgoing(message: junkMessage(pillar: pillar), to: to))
        }
      }
      let reply = Reply(
        client: random.chance(0.8) && !clients.isEmpty
          ? random.pick(clients) : ClientID(random.uint(0...9)),
        lane: UInt32(random.int(0...3)),
        sequence: random.uint(0...20), replica: random.pick(Array(configuration.replicas)),
        view: 0, result: random.bytes(4), tag: randomMAC())
      return (messages, [reply])
    case .inventRequests where !pillar.isLeader:
      return ([Outgoing(message: .forwardedRequest(inventedRequest()), to: pillar.leader)], [])
    default:
      return ([], [])
    }
  }

  /// Pure junk: well-formed messages with random certificates and fields.
  mutating func junkMessage(pillar: OrderingPillar) -> ProtocolMessage {
    let low = pillar.lowWaterMark
    let order = low + random.uint(0...(pillar.windowSize + 3))
    let view = random.chance(0.8) ? pillar.view : random.uint(0...3)
    let claimed = random.chance(0.5) ? replica : random.pick(Array(configuration.replicas))
    let issuer = configuration.trinxInstance(
      of: claimed, pillar: random.int(0...(configuration.pillarCount - 1)))
    switch random.int(0...4) {
    case 0:
      let batch = Batch(requests: (0..<random.int(0...2)).map { _ in inventedRequest() })
      var certificate = randomCertificate(
        counter: CounterLayout.ordering, value: CounterValue(high: view, low: order), trusted: false
      )
      certificate.issuer = issuer
      return .prepare(Prepare(view: view, order: order, batch: batch, certificate: certificate))
    case 1:
      var certificate = randomCertificate(
        counter: CounterLayout.ordering, value: CounterValue(high: view, low: order), trusted: false
      )
      certificate.issuer = issuer
      return .commit(
        Commit(
          view: view, order: order, batchDigest: Digest.of(random.bytes(4)), replica: claimed,
          certificate: certificate))
    case 2:
      let k = configuration.checkpointInterval
      var certificate = randomCertificate(
        counter: CounterLayout.checkpoint, value: .zero, trusted: true)
      certificate.issuer = issuer
      return .checkpoint(
        CheckpointMessage(
          order: (order / k + 1) * k, stateDigest: Digest.of(random.bytes(4)), replica: claimed,
          certificate: certificate))
    case 3:
      return .status(
        StatusMessage(replica: replica, view: view, nextDelivery: random.uint(0...(order + 2))))
    default:
      return .forwardedRequest(inventedRequest())
    }
  }

  private mutating func randomMAC() -> TrInXMAC {
    TrInXMAC(bytes: random.bytes(TrInXMAC.byteCount))!
  }

  private mutating func randomCertificate(
    counter: TrInXCounterID, value: CounterValue, trusted: Bool
  ) -> Certificate {
    Certificate(
      issuer: trinx.id, counter: counter, newValue: value, previousValue: trusted ? value : nil,
      mac: randomMAC())
  }
}
