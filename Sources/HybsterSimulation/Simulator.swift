import HybsterCore
import HybsterServices
import TrInX

/// The outcome of one seed.
public struct SimulationResult: Sendable {
  /// The run's parameters (seed included).
  public let parameters: SimulationParameters
  /// The first invariant broken, if any.
  public let violation: Violation?
  /// Whether the liveness phase's convergence requirement was checked (and held).
  public let livenessChecked: Bool
  /// Why liveness was not required, when it was not.
  public let livenessNote: String?
  /// Client requests whose results were accepted (f+1 matching replies).
  public let requestsAccepted: Int
  /// Replica-to-replica messages sent (before loss).
  public let messagesSent: Int
  /// Events processed.
  public let events: Int
  /// Simulated time at the end, microseconds.
  public let simulatedTime: SimTime
  /// A hash over every event of the run: equal seeds give equal hashes.
  public let traceHash: UInt64
  /// Moves the adaptive adversaries made (see `Adversary/`).
  public var adversaryMoves = 0
  /// Messages the adversarial scheduler held back.
  public var messagesHeld = 0
  /// The highest view a correct replica installed.
  public var highestView: View = 0
  /// Whether a correct replica executed a request its client never sent (possible
  /// only with `macs` and a Byzantine replica; the run is then not liveness-checked).
  public var inventedRequestExecuted = false
  /// Ed25519 verifications the run made (each distinct signature once).
  public var signatureVerifications = 0

  /// The seed.
  public var seed: UInt64 { parameters.seed }
  /// The Byzantine strategies this run used.
  public var strategies: [ByzantineStrategy] { parameters.byzantine.map(\.strategy) }
  /// The command that reproduces this run.
  public var reproduceCommand: String {
    "hybster simulate --seeds 1 --from \(seed)\(parameters.options.commandLineFlags)"
  }
}

/// The deterministic simulator: one seed drives n replicas running the unmodified
/// ``OrderingPillar`` and ``ExecutionStage``, clients (one of them perhaps
/// Byzantine, ``ByzantineClient``), a faulty network, crashes and Byzantine
/// replicas, on one thread with a simulated clock (DESIGN.md, after tigerbeetle's
/// VOPR). A safety phase with faults is followed by a liveness phase that heals
/// everything and demands convergence.
///
/// Liveness is demanded of every run: with the view change a Byzantine leader is
/// replaced, and a replica behind a stable checkpoint catches up by state transfer.
/// (Only with `--client-auth macs` may a Byzantine leader get an invented request
/// executed; such a run is reported as not liveness-checked.)
public enum Simulator {
  /// Runs one seed.
  public static func run(seed: UInt64, options: SimulationOptions = SimulationOptions())
    -> SimulationResult
  {
    SimulationRun(parameters: SimulationParameters(seed: seed, options: options)).execute()
  }
}

struct SimReplica {
  var ordering: ReplicaPillars
  var execution: ExecutionStage<KeyValueStore>
  /// A Byzantine replica's behaviour, one per pillar (each with that pillar's TrInX).
  var byzantine: [ByzantineBehaviour]?
  /// An adaptive Byzantine replica's adversary (see `AdaptiveAdversary/`).
  var adversary: AdaptiveAdversary?
  /// Its second copy, in Twins-style runs.
  var twin: AdversaryTwin?
  var crashed = false
  var incarnation: UInt32 = 0
  var chainHash = Digest.zero
  var neededStateTransfer = false
  /// What survives a crash (issue 12): each pillar's journal, folded as the
  /// runtime's recovery folds it, and the service snapshot of its last checkpoint.
  var disk: SimDisk
  var isCorrect: Bool { byzantine == nil }
}

struct LaneState {
  var sequence: UInt64 = 0
  var remaining: Int
  var outstanding: Request?
  var votes: ReplyVotes
  var attempts = 0
}

struct SimClient {
  var credentials: ClientCredentials
  var lanes: [LaneState]
  /// The view the client believes the group is in (as `HybsterClient` keeps one):
  /// a new request goes first to that view's leader of the request's pillar.
  var viewHint: View = 0
}

final class SimulationRun {
  let p: SimulationParameters
  let n: Int
  var network: SimulationRandom
  var workload: SimulationRandom
  var queue = EventQueue()
  var now: SimTime = 0
  var replicas: [SimReplica] = []
  var clients: [SimClient] = []
  var checker = InvariantChecker()
  var trace: TraceRecorder
  var blocked: [[Bool]]
  var activePartitions: [Int] = []
  var healed = false
  var loss: Double
  var duplication: Double
  var reordering: Double
  var replay: Double
  var replayRing: [(from: ReplicaID, to: ReplicaID, message: ProtocolMessage, pillar: Int)] = []
  /// The adversarial scheduler's held messages.
  var held: HeldMessages
  /// The replica running a directed attack (``AttackCampaign``), if any.
  var campaignReplica: Int?
  var inFlight: [Int]
  var messagesSent = 0
  var events = 0
  var requestsAccepted = 0
  var violation: Violation?
  var finished = false
  var livenessDeadline: SimTime = .max
  var livenessChecked = false
  var livenessNote: String?
  /// Payload digests of every request a client authenticated as itself (the honest
  /// clients' and the Byzantine client's own): nothing else may execute.
  var sentPayloads: Set<Digest> = []
  /// Whether a correct replica executed a request its client did not send, in a run
  /// where that is the known gap of `macs` mode (issue 13: a Byzantine leader's
  /// PREPARE that a NEW-VIEW re-proposes cannot be re-authenticated with MACs).
  var inventedRequestExecuted = false
  /// The honest clients' recent requests, which the Byzantine client sees.
  var recentRequests: [Request] = []
  /// The Byzantine client, if the seed has one.
  var byzantineClient: ByzantineClient?
  /// Honest client index by id.
  var clientIndex: [ClientID: Int] = [:]
  /// The events a run may take before it is judged as not live: a guard against
  /// runs that never settle. The longest live run seen needed 5.17 M (seed
  /// 550000020 with `--byzantine adaptive`: n = 7, five replicas crashed at once
  /// beside two adaptive ones, three pillars, rotating leaders; 5.5 M messages).
  static let maxEvents = 8_000_000

  /// The keys, kept to rebuild a crashed replica's TrInX instances and keyring.
  let keys: SimulationKeys
  var groupKey: [UInt8] { keys.group }

  init(parameters: SimulationParameters) {
    p = parameters
    n = parameters.configuration.replicaCount
    var random = SimulationRandom(seed: parameters.seed ^ 0x5EED_5EED_5EED_5EED)
    network = random.fork()
    workload = random.fork()
    trace = TraceRecorder(capacity: parameters.options.traceLength)
    blocked = Array(repeating: Array(repeating: false, count: n), count: n)
    inFlight = Array(repeating: 0, count: n)
    loss = parameters.loss
    duplication = parameters.duplication
    reordering = parameters.reordering
    replay = parameters.replay
    held = HeldMessages(rules: parameters.holdBack)

    let configuration = parameters.configuration
    let keys = SimulationKeys(
      random: &random, seed: parameters.seed, replicas: n,
      clients: parameters.clients + (parameters.byzantineClient == nil ? 0 : 1),
      mode: configuration.clientAuthentication)
    let groupKey = keys.group
    let clientIDs = keys.clientIDs
    for r in 0..<n {
      let replica = ReplicaID(r)
      var pillars: [OrderingPillar] = []
      var byzantine: [ByzantineBehaviour]?
      let strategy = parameters.strategy(of: replica)
      if strategy != nil { byzantine = [] }
      for u in 0..<configuration.pillarCount {
        // Force-unwrap: the key has 32 bytes by construction.
        let trinx = try! TrInXInstance(
          id: configuration.trinxInstance(of: replica, pillar: u),
          counterCount: CounterLayout.count, key: groupKey)
        var pillar = OrderingPillar(
          configuration: configuration, replica: replica, pillar: u, trinx: trinx,
          clients: keys.authenticator(r))
        if let strategy {
          byzantine!.append(
            ByzantineBehaviour(
              strategy: strategy, replica: replica, configuration: configuration,
              clients: clientIDs, lanes: parameters.lanesPerClient, trinx: trinx,
              keyring: keys.keyring(r), random: random.fork()))
        } else {
          pillar.injectedFaults = parameters.options.injectedFaults
          pillar.journaling = true
        }
        pillars.append(pillar)
      }
      var adversary: AdaptiveAdversary?
      var twin: AdversaryTwin?
      if strategy == .adaptive {
        let instances = (0..<configuration.pillarCount).map { u in
          try! TrInXInstance(
            id: configuration.trinxInstance(of: replica, pillar: u),
            counterCount: CounterLayout.count, key: groupKey)
        }
        adversary = AdaptiveAdversary(
          replica: replica, configuration: configuration, trinx: instances, random: random.fork())
        if let plan = parameters.campaign, plan.byzantine == replica {
          adversary!.campaign = AttackCampaign(plan: plan, configuration: configuration)
          campaignReplica = r
        }
        if let audience = parameters.twins[replica] {
          twin = AdversaryTwin(
            ordering: ReplicaPillars(
              pillars: instances.enumerated().map { u, trinx in
                OrderingPillar(
                  configuration: configuration, replica: replica, pillar: u, trinx: trinx,
                  clients: keys.authenticator(r))
              }),
            execution: ExecutionStage(
              service: KeyValueStore(), replica: replica,
              checkpointInterval: configuration.checkpointInterval, keyring: keys.keyring(r)),
            audience: audience)
        }
      }
      replicas.append(
        SimReplica(
          ordering: ReplicaPillars(pillars: pillars),
          execution: ExecutionStage(
            service: KeyValueStore(), replica: replica,
            checkpointInterval: configuration.checkpointInterval, keyring: keys.keyring(r)),
          byzantine: byzantine, adversary: adversary, twin: twin,
          disk: SimDisk(pillars: configuration.pillarCount)))
    }
    self.keys = keys
    for c in 0..<parameters.clients {
      clientIndex[clientIDs[c]] = c
      clients.append(
        SimClient(
          credentials: keys.credentials(c),
          lanes: Array(
            repeating: LaneState(
              remaining: parameters.operationsPerLane,
              votes: ReplyVotes(faultsTolerated: parameters.configuration.faultsTolerated)),
            count: parameters.lanesPerClient)))
    }
    if let plan = parameters.byzantineClient {
      let index = parameters.clients
      byzantineClient = ByzantineClient(
        credentials: keys.credentials(index), tagging: keys.credentials(index, mode: .macs),
        replicas: n, plan: plan, random: random.fork())
    }
  }

  // MARK: - Run loop

  func execute() -> SimulationResult {
    for r in 0..<n { queue.schedule(.tick(ReplicaID(r)), at: network.uint(1...p.tickPeriod)) }
    for c in 0..<clients.count {
      for l in 0..<clients[c].lanes.count {
        queue.schedule(
          .clientNext(client: c, lane: l), at: workload.uint(0...(p.thinkTime + 1_000)))
      }
    }
    if let plan = p.byzantineClient {
      queue.schedule(.byzantineClient, at: byzantineClient!.random.uint(0...plan.interval))
    }
    for crash in p.crashes {
      queue.schedule(.crash(crash.replica), at: crash.at)
      if let restart = crash.restartAt { queue.schedule(.restart(crash.replica), at: restart) }
    }
    for (i, partition) in p.partitions.enumerated() {
      queue.schedule(.partitionStart(i), at: partition.start)
      queue.schedule(.partitionEnd(i), at: partition.end)
    }
    for (i, rule) in p.holdBack.enumerated() {
      if let end = rule.end { queue.schedule(.releaseHeld(i), at: end) }
    }
    queue.schedule(.heal, at: p.safetyDuration)

    while !finished, violation == nil, let event = queue.pop() {
      now = event.time
      events += 1
      handle(event.kind)
      if events >= Self.maxEvents, violation == nil, !finished {
        finishLiveness(reason: "event budget of \(Self.maxEvents) exhausted")
      }
    }
    var result = SimulationResult(
      parameters: p, violation: violation, livenessChecked: livenessChecked && violation == nil,
      livenessNote: livenessNote, requestsAccepted: requestsAccepted, messagesSent: messagesSent,
      events: events, simulatedTime: now, traceHash: trace.hash)
    result.adversaryMoves = replicas.compactMap(\.adversary).reduce(0) {
      $0 + $1.moves.values.reduce(0, +)
    }
    result.messagesHeld =
      held.heldCount + replicas.compactMap(\.adversary?.campaign?.heldCount).reduce(0, +)
    result.highestView = replicas.filter(\.isCorrect).map(\.ordering.view).max() ?? 0
    result.inventedRequestExecuted = inventedRequestExecuted
    result.signatureVerifications = keys.signatures.verifications
    return result
  }

  func fail(_ invariant: Invariant, _ detail: String) {
    guard violation == nil else { return }
    violation = Violation(invariant: invariant, detail: detail, time: now, trace: trace.lines)
  }

  func fail(_ found: (Invariant, String)?) {
    if let (invariant, detail) = found { fail(invariant, detail) }
  }

  func handle(_ kind: EventKind) {
    switch kind {
    case .message(let to, let from, let message, let pillar, let incarnation):
      if replicas[Int(from)].isCorrect { inFlight[Int(to)] -= 1 }
      guard !replicas[Int(to)].crashed, replicas[Int(to)].incarnation == incarnation else { return }
      trace.record(now, .message(to: to, from: from, message, pillar: pillar))
      if replicas[Int(to)].adversary != nil, pillar >= 0,
        pillar < replicas[Int(to)].ordering.pillars.count
      {
        if pillar == 0 { replicas[Int(to)].adversary!.observeForCampaign(message, from: from) }
        replicas[Int(to)].adversary!.observe(
          message, pillar: pillar, validator: replicas[Int(to)].ordering.pillars[pillar])
        if replicas[Int(to)].twin?.audience.contains(from) == true {
          twinInput(Int(to), .message(message, from: from, pillar: pillar))
          return
        }
      }
      input(Int(to), .message(message, from: from, pillar: pillar))
    case .request(let to, let request, let incarnation):
      let r = Int(to)
      guard !replicas[r].crashed, replicas[r].incarnation == incarnation else { return }
      trace.record(
        now,
        .request(to: to, client: request.client, lane: request.lane, sequence: request.sequence))
      if replicas[r].adversary != nil {
        replicas[r].adversary!.observe(request)
        if replicas[r].twin != nil { twinInput(r, .request(request)) }
      }
      for u in replicas[r].byzantine?.indices ?? 0..<0 {
        replicas[r].byzantine![u].observe(request)
      }
      let cached = replicas[r].execution.cachedReply(for: request, view: replicas[r].ordering.view)
      if let reply = cached.reply {
        sendReply(from: r, reply)
      } else if !cached.stale {
        input(r, .request(request))
      }
    case .reply(let reply):
      receiveReply(reply)
    case .tick(let replica):
      let r = Int(replica)
      queue.schedule(.tick(replica), at: now + p.tickPeriod)
      guard !replicas[r].crashed else { return }
      trace.record(now, .tick(replica))
      input(r, .tick)
      for u in replicas[r].byzantine?.indices ?? 0..<0 {
        let extra = replicas[r].byzantine![u].onTick(pillar: replicas[r].ordering.pillars[u])
        for message in extra.messages { sendToReplica(from: r, message, pillar: u) }
        for reply in extra.replies {
          queue.schedule(.reply(reply), at: now + delay(p.clientLink))
        }
      }
      if replicas[r].adversary != nil {
        if replicas[r].twin != nil { twinInput(r, .tick) }
        var moves = replicas[r].adversary!.act(pillars: replicas[r].ordering.pillars)
        if replicas[r].adversary!.campaign != nil {
          moves += replicas[r].adversary!.campaignStep(
            world: campaignWorld(), pillars: replicas[r].ordering.pillars)
          release(replicas[r].adversary!.campaign!.releasable())
        }
        for move in moves { sendToReplica(from: r, move.out, pillar: move.pillar) }
      }
    case .batchTimeout(let replica, let pillar, let incarnation):
      let r = Int(replica)
      guard !replicas[r].crashed, replicas[r].incarnation == incarnation else { return }
      trace.record(now, .batchTimeout(replica))
      input(r, .batchTimeout(pillar: pillar))
    case .stateTransfer(let replica, let incarnation):
      let r = Int(replica)
      // The replica may have learned a later stable checkpoint meanwhile: fetch the
      // one it needs now (its peers keep a few stable snapshots).
      guard !replicas[r].crashed, replicas[r].incarnation == incarnation,
        let stable = replicas[r].ordering.stableCheckpoint,
        replicas[r].ordering.nextExecution <= stable.order
      else { return }
      let (order, digest) = (stable.order, stable.stateDigest)
      // The state is checked against the f+1-certified digest before it is installed;
      // a peer without it (or with another) is skipped and the transfer retried.
      let source = stable.proof.map(\.replica).first { peer in
        let p = Int(peer)
        return !replicas[p].crashed && replicas[p].execution.snapshots[order]?.digest == digest
      }
      guard let source, let snapshot = replicas[Int(source)].execution.snapshots[order] else {
        queue.schedule(
          .stateTransfer(replica, incarnation: incarnation), at: now + 20 * p.tickPeriod)
        return
      }
      try? replicas[r].execution.install(snapshot)
      replicas[r].disk.store(snapshot)  // the runtime persists an installed snapshot too
      if replicas[r].isCorrect {
        // A stable checkpoint was executed by a correct replica: it is canonical.
        guard let hash = checker.chainHash(after: order) else {
          fail(
            (
              .canonicalPrefix,
              "replica \(replica) installed checkpoint \(order) beyond the canonical sequence"
            ))
          return
        }
        replicas[r].chainHash = hash
      }
      trace.record(now, .stateTransferred(replica, order))
      input(r, .stateTransferred(order: order, executed: replicas[r].execution.replies))
    case .checkpointTaken(let replica, let order, let digest, let incarnation):
      let r = Int(replica)
      guard replicas[r].incarnation == incarnation else { return }
      trace.record(now, .checkpointTaken(replica, order))
      input(r, .checkpointTaken(order: order, stateDigest: digest))
    case .clientRetransmit(let c, let l, let sequence):
      retransmit(client: c, lane: l, sequence: sequence)
    case .clientNext(let c, let l):
      submit(client: c, lane: l)
    case .byzantineClient:
      byzantineClientMove()
    case .crash(let replica):
      guard !healed else { return }
      trace.record(now, .crash(replica))
      replicas[Int(replica)].crashed = true
      replicas[Int(replica)].incarnation += 1  // in-flight messages are lost
    case .restart(let replica):
      guard replicas[Int(replica)].crashed else { return }
      trace.record(now, .restart(replica))
      recover(Int(replica))
    case .partitionStart(let i):
      guard !healed else { return }
      trace.record(now, .partition(i, start: true))
      activePartitions.append(i)
      recomputePartitions()
    case .partitionEnd(let i):
      guard !healed else { return }
      trace.record(now, .partition(i, start: false))
      activePartitions.removeAll { $0 == i }
      recomputePartitions()
    case .heal:
      heal()
    case .releaseHeld(let i):
      guard !healed else { return }
      release(held.release(i))
    case .livenessCheck:
      checkLiveness()
    }
  }

  // MARK: - Replicas

  /// Feeds one input to a replica's pillars and carries out their actions.
  func input(_ r: Int, _ input: ReplicaPillars.Input) {
    var actions: [ReplicaPillars.Action] = []
    replicas[r].ordering.handle(input, into: &actions)
    carryOut(r, actions)
  }

  /// Carries out a replica's actions. Journal records take effect at once: a
  /// simulated turn is atomic, so what it persisted is durable before its messages
  /// leave, as the runtime's group commit guarantees.
  func carryOut(_ r: Int, _ actions: [ReplicaPillars.Action]) {
    var actions = actions
    Self.canonicalizeSends(&actions)
    let pillarCount = p.configuration.pillarCount
    var sends: [[Outgoing]] = Array(repeating: [], count: pillarCount)
    let replica = ReplicaID(r)
    let correct = replicas[r].isCorrect
    for action in actions {
      switch action {
      case .send(let message, let to, let pillar):
        sends[pillar].append(Outgoing(message: message, to: to))
      case .broadcast(let message, let pillar):
        for to in 0..<ReplicaID(n) where to != replica {
          sends[pillar].append(Outgoing(message: message, to: to))
        }
      case .deliver(let order, let view, let batch):
        deliver(r, order: order, view: view, batch: batch)
      case .checkpointStable(let order, let digest):
        trace.record(now, .stable(replica, order))
        replicas[r].execution.checkpointStable(at: order)
        replicas[r].disk.stabilized(at: order)
        if correct { fail(checker.stable(replica: replica, order: order, digest: digest)) }
      case .stateTransferNeeded(let order, _, _):
        trace.record(now, .stateTransferNeeded(replica, order))
        replicas[r].neededStateTransfer = true
        queue.schedule(
          .stateTransfer(replica, incarnation: replicas[r].incarnation),
          at: now + 5 * p.tickPeriod)
      case .armBatchTimer(let pillar):
        queue.schedule(
          .batchTimeout(replica, pillar: pillar, incarnation: replicas[r].incarnation),
          at: now + p.batchTimeout)
      case .persist(let record, let pillar):
        replicas[r].disk.journals[pillar].apply(record)
        replicas[r].disk.reserve(record, pillar: pillar)
      case .rejected:
        break
      case .viewChangeStarted(let view):
        trace.record(now, .viewChangeStarted(replica, view))
      case .viewInstalled(let view, _):
        trace.record(now, .viewInstalled(replica, view))
      }
      if violation != nil { return }
    }
    for u in 0..<pillarCount {
      if replicas[r].adversary != nil {
        sends[u] = replicas[r].adversary!.transform(sends[u], pillar: u)
        if let twin = replicas[r].twin { sends[u].removeAll { twin.audience.contains($0.to) } }
      } else if replicas[r].byzantine != nil {
        sends[u] = replicas[r].byzantine![u].transform(
          sends[u], pillar: replicas[r].ordering.pillars[u])
      }
      for send in sends[u] { sendToReplica(from: r, send, pillar: u) }
    }
    if correct { checkBounds(r) }
  }

  /// The core iterates dictionaries when it answers a STATUS; Swift's per-instance
  /// hash seeds make that order vary between runs. Sorting each run of consecutive
  /// `.send`s by content keeps a seed deterministic without touching the core.
  static func canonicalizeSends(_ actions: inout [ReplicaPillars.Action]) {
    var i = 0
    while i < actions.count {
      guard case .send = actions[i] else {
        i += 1
        continue
      }
      var j = i + 1
      while j < actions.count, case .send = actions[j] { j += 1 }
      if j - i > 1 {
        let sorted = actions[i..<j].enumerated().sorted { a, b in
          let ka = sendKey(a.element)
          let kb = sendKey(b.element)
          return ka != kb ? ka.lexicographicallyPrecedes(kb) : a.offset < b.offset
        }
        actions.replaceSubrange(i..<j, with: sorted.map(\.element))
      }
      i = j
    }
  }

  static func sendKey(_ action: ReplicaPillars.Action) -> [UInt64] {
    guard case .send(let message, let to, let pillar) = action else { return [] }
    let (kind, view, order, aux) = TraceEvent.summary(message)
    return [UInt64(to), UInt64(pillar), UInt64(kind), view, order, aux]
  }

  func deliver(_ r: Int, order: OrderNumber, view: View, batch: Batch) {
    let replica = ReplicaID(r)
    let correct = replicas[r].isCorrect
    trace.record(now, .deliver(replica, order: order, requests: batch.requests.count))
    if correct {
      fail(checker.delivered(replica: replica, order: order, batch: batch))
      if violation != nil { return }
      checkValidity(r, order: order, batch: batch)
      if violation != nil { return }
    }
    let previous = replicas[r].execution.lastExecuted
    guard order == previous + 1 else {
      // ExecutionStage would trap; report instead.
      if correct {
        fail(.canonicalPrefix, "replica \(r) was delivered order \(order) after \(previous)")
      }
      return
    }
    var replies: [Reply] = []
    let snapshot = replicas[r].execution.execute(
      order: order, view: view, batch: batch, replies: &replies)
    if correct {
      replicas[r].chainHash = InvariantChecker.extend(replicas[r].chainHash, with: batch)
      fail(
        checker.executed(
          replica: replica, order: order, previous: previous, chainHash: replicas[r].chainHash))
    }
    for reply in replies { sendReply(from: r, reply) }
    if let snapshot {
      // Durable before its CHECKPOINT leaves, as in the runtime.
      replicas[r].disk.store(snapshot)
      let digest = snapshot.digest
      if correct { fail(checker.snapshot(replica: replica, order: order, digest: digest)) }
      queue.schedule(
        .checkpointTaken(
          replica, order: order, digest: digest, incarnation: replicas[r].incarnation), at: now)
    }
  }

  /// Validity (issue 13): a correct replica executes only requests their clients
  /// sent. With signatures this holds against every adversary; with MACs a Byzantine
  /// leader can get an invented request executed through a view change (the known
  /// gap of `macs` mode), and without Byzantine replicas it holds there too.
  func checkValidity(_ r: Int, order: OrderNumber, batch: Batch) {
    guard let forged = batch.requests.first(where: { !sentPayloads.contains($0.payloadDigest) })
    else { return }
    if p.clientAuthentication == .macs, !p.byzantine.isEmpty {
      inventedRequestExecuted = true
      return
    }
    fail(
      .validity,
      "replica \(r) executed at order \(order) a request its client never sent: client"
        + " \(forged.client) lane \(forged.lane) sequence \(forged.sequence)"
        + " (\(p.clientAuthentication.rawValue) mode)")
  }

  func checkBounds(_ r: Int) {
    let c = p.configuration
    for pillar in replicas[r].ordering.pillars {
      if pillar.logSize > Int(pillar.windowSize) {
        fail(
          .boundedBuffers,
          "replica \(r) pillar \(pillar.pillar) keeps \(pillar.logSize) log slots,"
            + " window is \(pillar.windowSize)")
      }
      if pillar.pendingCount > pillar.maxPendingRequests {
        fail(
          .boundedBuffers,
          "replica \(r) queues \(pillar.pendingCount) requests, bound \(pillar.maxPendingRequests)")
      }
    }
    let coordinator = replicas[r].ordering.coordinator
    if coordinator.waitingDeliveries > coordinator.waitingDeliveriesBound
      || coordinator.heldParts > coordinator.heldPartsBound
    {
      fail(
        .boundedBuffers,
        "replica \(r) holds \(coordinator.waitingDeliveries) early deliveries (bound"
          + " \(coordinator.waitingDeliveriesBound)) and \(coordinator.heldParts) view-change parts"
          + " (bound \(coordinator.heldPartsBound))")
    }
    // The window's checkpoints, the stable one and those kept before it; with several
    // pillars execution may run one more interval ahead of the replica's stable
    // checkpoint (the delivery limit moves a checkpoint interval at a time; seed
    // 100002291 with --power-cut).
    let snapshotBound =
      Int(c.windowSize / c.checkpointInterval) + 1
      + Int(ExecutionStage<KeyValueStore>.stableSnapshotsKept) + (c.pillarCount > 1 ? 1 : 0)
    if replicas[r].execution.snapshots.count > snapshotBound {
      fail(
        .boundedBuffers,
        "replica \(r) keeps \(replicas[r].execution.snapshots.count) checkpoint snapshots,"
          + " bound \(snapshotBound)")
    }
  }

  // MARK: - Network

  func delay(_ link: LinkProfile) -> SimTime {
    link.base + (link.jitter == 0 ? 0 : network.below(link.jitter + 1))
  }

  func sendToReplica(from r: Int, _ out: Outgoing, pillar: Int) {
    let to = Int(out.to)
    guard to != r, to >= 0, to < n else { return }
    messagesSent += 1
    if blocked[r][to] || (loss > 0 && network.chance(loss)) { return }
    var latency = delay(p.links[r][to]) + p.slowness[r] + out.extraDelay
    if reordering > 0, network.chance(reordering) { latency += network.uint(0...20_000) }
    schedule(from: ReplicaID(r), to: out.to, out.message, pillar: pillar, at: now + latency)
    if duplication > 0, network.chance(duplication) {
      schedule(
        from: ReplicaID(r), to: out.to, out.message, pillar: pillar,
        at: now + latency + delay(p.links[r][to]))
    }
    if replay > 0 {
      if replayRing.count < 128 {
        replayRing.append((ReplicaID(r), out.to, out.message, pillar))
      } else {
        replayRing[Int(network.below(128))] = (ReplicaID(r), out.to, out.message, pillar)
      }
      if network.chance(replay) {
        let old = network.pick(replayRing)
        if !blocked[Int(old.from)][Int(old.to)] {
          schedule(
            from: old.from, to: old.to, old.message, pillar: old.pillar,
            at: now + network.uint(0...50_000))
        }
      }
    }
  }

  func schedule(
    from: ReplicaID, to: ReplicaID, _ message: ProtocolMessage, pillar: Int, at time: SimTime
  ) {
    if !healed, !held.rules.isEmpty,
      held.hold(message, from: from, to: to, pillar: pillar, at: now)
    {
      return
    }
    if !healed, let c = campaignReplica,
      replicas[c].adversary!.campaign!.hold(message, from: from, to: to, pillar: pillar)
    {
      return
    }
    if replicas[Int(from)].isCorrect {
      inFlight[Int(to)] += 1
      if inFlight[Int(to)] > p.inboxCap {
        fail(
          .boundedBuffers,
          "\(inFlight[Int(to)]) messages from correct replicas in flight to replica \(to),"
            + " cap \(p.inboxCap)")
      }
    }
    queue.schedule(
      .message(
        to: to, from: from, message, pillar: pillar, incarnation: replicas[Int(to)].incarnation),
      at: time)
  }

  func sendReply(from r: Int, _ reply: Reply) {
    var replies = [reply]
    if replicas[r].byzantine != nil {
      replies = replicas[r].byzantine![0].transform(reply)
    }
    for reply in replies {
      if loss > 0, network.chance(loss) { continue }
      queue.schedule(.reply(reply), at: now + delay(p.clientLink) + p.slowness[r])
    }
  }

  func recomputePartitions() {
    blocked = Array(repeating: Array(repeating: false, count: n), count: n)
    for i in activePartitions {
      let partition = p.partitions[i]
      let side = Set(partition.side.map(Int.init))
      for a in side {
        for b in 0..<n where !side.contains(b) {
          blocked[a][b] = true
          if partition.kind == .symmetric { blocked[b][a] = true }
        }
      }
    }
  }

  // MARK: - Clients

  func submit(client c: Int, lane l: Int) {
    guard clients[c].lanes[l].remaining > 0, clients[c].lanes[l].outstanding == nil else { return }
    clients[c].lanes[l].sequence += 1
    let sequence = clients[c].lanes[l].sequence
    let request = clients[c].credentials.request(
      lane: UInt32(l), sequence: sequence, operation: nextOperation())
    clients[c].lanes[l].outstanding = request
    sentPayloads.insert(request.payloadDigest)
    recentRequests.append(request)
    if recentRequests.count > 16 { recentRequests.removeFirst() }
    clients[c].lanes[l].votes = ReplyVotes(faultsTolerated: p.configuration.faultsTolerated)
    clients[c].lanes[l].attempts = 0
    trace.record(now, .clientSend(client: c, lane: l, sequence: sequence, attempt: 0))
    // First to the leader the client believes in; a follower forwards it (§5.2.1).
    let pillar = p.configuration.layout.pillar(ofClient: request.client, lane: request.lane)
    sendRequest(request, to: p.configuration.leader(of: clients[c].viewHint, pillar: pillar))
    queue.schedule(
      .clientRetransmit(client: c, lane: l, sequence: sequence), at: now + p.clientRetransmit)
  }

  func retransmit(client c: Int, lane l: Int, sequence: UInt64) {
    guard let request = clients[c].lanes[l].outstanding, request.sequence == sequence else {
      return
    }
    clients[c].lanes[l].attempts += 1
    let attempts = clients[c].lanes[l].attempts
    trace.record(now, .clientSend(client: c, lane: l, sequence: sequence, attempt: attempts))
    for r in 0..<ReplicaID(n) { sendRequest(request, to: r) }
    queue.schedule(
      .clientRetransmit(client: c, lane: l, sequence: sequence),
      at: now + p.clientRetransmit << UInt64(min(attempts, 3)))
  }

  func sendRequest(_ request: Request, to r: ReplicaID) {
    if loss > 0, network.chance(loss) { return }
    queue.schedule(
      .request(to: r, request, incarnation: replicas[Int(r)].incarnation),
      at: now + delay(p.clientLink))
  }

  func nextOperation() -> [UInt8] {
    let key: [UInt8] = [UInt8(workload.int(0...(p.keySpace - 1)))]
    func value() -> [UInt8] { [UInt8(workload.int(0...3))] }
    let operation: KeyValueOperation
    switch workload.weighted(p.operationWeights) {
    case 0: operation = .get(key: key)
    case 1: operation = .put(key: key, value: value())
    case 2: operation = .delete(key: key)
    default:
      operation = .compareAndSwap(
        key: key, expected: workload.chance(0.3) ? nil : value(), new: value())
    }
    return operation.encode()
  }

  func receiveReply(_ reply: Reply) {
    let l = Int(reply.lane)
    guard let c = clientIndex[reply.client], l < clients[c].lanes.count,
      let request = clients[c].lanes[l].outstanding, request.sequence == reply.sequence,
      !clients[c].lanes[l].votes.hasVote(of: reply.replica),
      clients[c].credentials.verify(reply)
    else { return }
    trace.record(
      now,
      .reply(client: reply.client, lane: reply.lane, sequence: reply.sequence, from: reply.replica))
    guard clients[c].lanes[l].votes.record(reply) != nil else { return }
    clients[c].viewHint = max(clients[c].viewHint, clients[c].lanes[l].votes.viewHint!)
    trace.record(now, .accepted(client: c, lane: l, sequence: reply.sequence))
    requestsAccepted += 1
    fail(checker.accepted(lane: request.key, sequence: reply.sequence, result: reply.result))
    clients[c].lanes[l].outstanding = nil
    clients[c].lanes[l].remaining -= 1
    if clients[c].lanes[l].remaining > 0 {
      queue.schedule(.clientNext(client: c, lane: l), at: now + workload.uint(0...p.thinkTime))
    } else if !healed, allLanesDone {
      queue.schedule(.heal, at: now)  // nothing left to disturb: start the liveness phase
    }
  }

  var allLanesDone: Bool {
    clients.allSatisfy { $0.lanes.allSatisfy { $0.remaining == 0 } }
  }

  // MARK: - Liveness phase

  func heal() {
    guard !healed else { return }
    healed = true
    trace.record(now, .heal)
    activePartitions = []
    recomputePartitions()
    (loss, duplication, reordering, replay) = (0, 0, 0, 0)
    release(held.releaseAll())
    if let c = campaignReplica {
      replicas[c].adversary!.campaign!.phase = .over
      release(replicas[c].adversary!.campaign!.releasable())
    }
    for r in 0..<n where replicas[r].crashed {
      trace.record(now, .restart(ReplicaID(r)))
      recover(r)
    }
    livenessDeadline = now + p.livenessBound
    queue.schedule(.livenessCheck, at: now + p.tickPeriod)
  }

  func convergence() -> String? {
    let correct = (0..<n).filter { replicas[$0].isCorrect }
    let executed = correct.map { replicas[$0].execution.lastExecuted }
    guard Set(executed).count == 1 else { return "lastExecuted per correct replica \(executed)" }
    let digests = correct.map { r in
      var builder = DigestBuilder()
      builder.append(Digest.of(replicas[r].execution.service.snapshot()))
      builder.append(replicas[r].execution.replies.digest)
      return builder.finalize()
    }
    guard Set(digests).count == 1 else { return "state digests differ: \(digests)" }
    return nil
  }

  func checkLiveness() {
    trace.record(now, .livenessCheck)
    if inventedRequestExecuted {
      // An invented request may have taken a lane's sequence numbers: the lane's real
      // requests are then stale forever, and liveness cannot be demanded.
      livenessNote =
        "a request its client never sent was executed after a view change (known limitation"
        + " of --client-auth macs; see README)"
      finished = true
      return
    }
    if now >= livenessDeadline, excuseMACAttack() { return }
    if allLanesDone, convergence() == nil {
      livenessChecked = true
      finished = true
      return
    }
    if now >= livenessDeadline {
      finishLiveness(reason: nil)
      return
    }
    queue.schedule(.livenessCheck, at: now + 10_000)
  }

  /// With MAC authenticators a Byzantine client's request whose tags are valid for
  /// some replicas only can stall a batch until a view change, and again in the next
  /// view (the "MAC attack"; issue 11 item 4): `--client-auth macs` is documented as
  /// open to it, `signatures` closes it. Notes such a run and ends it; whether it did.
  func excuseMACAttack() -> Bool {
    guard p.clientAuthentication == .macs, p.byzantineClient != nil else { return false }
    livenessNote = "a Byzantine client's partial MAC authenticators (macs mode, liveness open)"
    finished = true
    return true
  }

  func finishLiveness(reason: String?) {
    finished = true
    let lanes = clients.enumerated().flatMap { c, client in
      client.lanes.enumerated().compactMap { l, lane in
        lane.remaining > 0 ? "\(c)/\(l) has \(lane.remaining) left" : nil
      }
    }
    let replicasState = (0..<n).map { r in
      "r\(r)\(replicas[r].isCorrect ? "" : "(byz)") executed=\(replicas[r].execution.lastExecuted)"
        + replicas[r].ordering.pillars.map { pillar in
          " [u\(pillar.pillar) view=\(pillar.view)"
            + (pillar.targetView.map { "->\($0)" } ?? "") + " next=\(pillar.nextDelivery)"
            + " low=\(pillar.lowWaterMark) pending=\(pillar.pendingCount)"
            + " awaited=\(pillar.awaitedCount) \(pillar.viewChangeSummary)]"
        }.joined()
    }
    fail(
      .liveness,
      (reason ?? "no convergence within \(p.livenessBound)us after healing") + ": lanes ["
        + lanes.joined(separator: ", ") + "]; " + replicasState.joined(separator: "; ")
        + "; " + (convergence() ?? "replicas converged"))
  }
}
