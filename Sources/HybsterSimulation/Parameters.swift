import HybsterCore
import TrInX

/// Simulated time in microseconds.
public typealias SimTime = UInt64

/// Options that are not derived from the seed: what a caller forces on every seed
/// of a sweep. A reproduce command repeats them.
public struct SimulationOptions: Sendable, Hashable {
  /// Every Byzantine replica runs this strategy, and every seed has at least one
  /// Byzantine replica (the leader too, for leader strategies).
  public var forcedStrategy: ByzantineStrategy?
  /// Make exactly f replicas Byzantine (colluding strategies need f of them).
  public var byzantineAtMaximum: Bool
  /// Bugs injected into every correct replica (the simulator's self-test).
  public var injectedFaults: InjectedFaults
  /// How many recent events a violation report shows.
  public var traceLength: Int
  /// Pillars per replica (§5.3); nil lets the seed choose 1, 2 or 3.
  public var pillars: Int?
  /// Rotating leaders (§6.2); nil lets the seed choose (with several pillars).
  public var rotateLeaders: Bool?
  /// The adversarial scheduler (``HoldRule``): true gives every seed hold-back rules,
  /// false none; nil gives them to seeds with an ``ByzantineStrategy/adaptive`` replica.
  public var holdBack: Bool?
  /// The message kinds hold-back rules pick from (nil: ``MessageKind/holdable``).
  public var holdKinds: Set<MessageKind>?
  /// Twins (two copies of an adaptive replica with one identity and one TrInX
  /// counter per pillar, each talking to its own part of the group): true for every
  /// adaptive replica, false never, nil as the seed draws.
  public var twins: Bool?
  /// A directed attack forced on every seed (n = 3, one pillar, one adaptive
  /// replica; see ``AttackCampaignKind``); nil lets eligible seeds draw one.
  public var campaign: AttackCampaignKind?
  /// Whether eligible seeds (n = 3, one pillar, one adaptive replica) may draw a
  /// campaign when none is forced.
  public var campaignsDrawn = true
  /// A power cut (every correct replica crashes at once and restarts from its disk,
  /// issue 12): true for every seed, false for none, nil as the seed draws.
  public var powerCut: Bool?
  /// How clients authenticate requests (issue 13); nil lets the seed draw (mostly
  /// ``ClientAuthMode/signatures``, one seed in five ``ClientAuthMode/macs``).
  public var clientAuthentication: ClientAuthMode?
  /// A Byzantine client (``ByzantineClient``) next to the honest ones: true for every
  /// seed, false for none, nil as the seed draws.
  public var byzantineClient: Bool?

  /// Creates options.
  public init(
    forcedStrategy: ByzantineStrategy? = nil, byzantineAtMaximum: Bool = false,
    injectedFaults: InjectedFaults = [], traceLength: Int = 30, pillars: Int? = nil,
    rotateLeaders: Bool? = nil, holdBack: Bool? = nil, holdKinds: Set<MessageKind>? = nil,
    twins: Bool? = nil
  ) {
    self.holdBack = holdBack
    self.holdKinds = holdKinds
    self.twins = twins
    self.pillars = pillars
    self.rotateLeaders = rotateLeaders
    self.forcedStrategy = forcedStrategy
    self.byzantineAtMaximum = byzantineAtMaximum
    self.injectedFaults = injectedFaults
    self.traceLength = traceLength
  }

  /// The command-line flags that repeat these options.
  public var commandLineFlags: String {
    var flags = ""
    if let forcedStrategy { flags += " --byzantine \(forcedStrategy.rawValue)" }
    if byzantineAtMaximum { flags += " --byzantine-max" }
    if let pillars { flags += " --pillars \(pillars)" }
    if let rotateLeaders { flags += rotateLeaders ? " --rotate" : " --no-rotate" }
    if let holdBack { flags += holdBack ? " --hold-back" : " --no-hold-back" }
    if let holdKinds {
      flags += " --hold-kinds " + holdKinds.sorted().map(\.rawValue).joined(separator: ",")
    }
    if let twins { flags += twins ? " --twins" : " --no-twins" }
    if let powerCut { flags += powerCut ? " --power-cut" : " --no-power-cut" }
    if let clientAuthentication { flags += " --client-auth \(clientAuthentication.rawValue)" }
    if let byzantineClient {
      flags += byzantineClient ? " --byzantine-client" : " --no-byzantine-client"
    }
    if let campaign {
      flags += " --campaign \(campaign.rawValue)"
    } else if !campaignsDrawn {
      flags += " --campaign none"
    }
    for name in InjectedFaultName.names(of: injectedFaults) { flags += " --inject \(name)" }
    return flags
  }
}

/// One link's delay distribution: `base` plus a uniform jitter, in microseconds.
public struct LinkProfile: Sendable, Hashable {
  /// The minimum one-way delay.
  public var base: SimTime
  /// The largest extra delay drawn uniformly on top of `base`.
  public var jitter: SimTime
}

/// A network partition active during `[start, end)` of the safety phase.
public struct PartitionEvent: Sendable, Hashable, CustomStringConvertible {
  /// How the replicas are cut.
  public enum Kind: String, Sendable, Hashable {
    /// No message crosses between `side` and the rest, in either direction.
    case symmetric
    /// Messages from `side` to the rest are lost; the other direction works.
    case asymmetric
  }
  /// The partition's kind.
  public var kind: Kind
  /// One side of the cut.
  public var side: [ReplicaID]
  /// When it starts.
  public var start: SimTime
  /// When it heals (at the latest when the liveness phase begins).
  public var end: SimTime

  public var description: String {
    "\(kind.rawValue) \(side) | rest during [\(start / 1000), \(end / 1000)) ms"
  }
}

/// A crash of a correct replica: it loses everything but its disk (its journals and
/// last snapshot) and in-flight messages to it; it restarts from that disk.
public struct CrashEvent: Sendable, Hashable, CustomStringConvertible {
  /// The replica.
  public var replica: ReplicaID
  /// When it crashes.
  public var at: SimTime
  /// When it restarts (`nil`: when the liveness phase begins).
  public var restartAt: SimTime?

  public var description: String {
    "replica \(replica) crashes at \(at / 1000) ms, restarts "
      + (restartAt.map { "at \($0 / 1000) ms" } ?? "when the network heals")
  }
}

/// Every parameter of one run, all derived from its 64-bit seed (tigerbeetle VOPR
/// style): the cluster, the workload, the network, crashes and Byzantine replicas.
public struct SimulationParameters: Sendable, CustomStringConvertible {
  /// The seed.
  public let seed: UInt64
  /// The options the run was given.
  public let options: SimulationOptions
  /// The protocol parameters (n, batch size, in-flight limit, K, window).
  public let configuration: ProtocolConfiguration
  /// Number of clients.
  public let clients: Int
  /// Lanes per client (each has at most one request outstanding).
  public let lanesPerClient: Int
  /// Operations each lane submits.
  public let operationsPerLane: Int
  /// Number of distinct keys.
  public let keySpace: Int
  /// Relative weights of get, put, delete and compare-and-swap.
  public let operationWeights: [Int]
  /// The largest think time between a lane's operations.
  public let thinkTime: SimTime
  /// The period of ``PillarInput/tick``.
  public let tickPeriod: SimTime
  /// The batch flush delay after ``PillarAction/armBatchTimer``.
  public let batchTimeout: SimTime
  /// A client's first retransmission delay (doubled up to 8x).
  public let clientRetransmit: SimTime
  /// Delay distribution per directed replica link `[from][to]`.
  public let links: [[LinkProfile]]
  /// Delay distribution of client links.
  public let clientLink: LinkProfile
  /// Probability that a message is lost (safety phase).
  public let loss: Double
  /// Probability that a message is delivered twice (safety phase).
  public let duplication: Double
  /// Probability that a message is held back and overtaken (safety phase).
  public let reordering: Double
  /// Probability that a send also replays an old message (safety phase).
  public let replay: Double
  /// Partitions during the safety phase.
  public let partitions: [PartitionEvent]
  /// Crashes of correct replicas (all of them at once in a power cut).
  public let crashes: [CrashEvent]
  /// A disk fault found when a crashed replica restarts (issue 12): its first
  /// pillar's journal is damaged in its middle (discarded; the pillar restarts with
  /// its counter at its reservation), and with `snapshotLost` its last snapshot too.
  public let diskFault: (replica: ReplicaID, snapshotLost: Bool)?
  /// Extra delay on every message a slow replica sends, by replica.
  public let slowness: [SimTime]
  /// The Byzantine replicas and their strategies, by replica id.
  public let byzantine: [(replica: ReplicaID, strategy: ByzantineStrategy)]
  /// The adversarial scheduler's rules (see ``HoldRule``).
  public let holdBack: [HoldRule]
  /// Per adaptive replica with a twin: the replicas its twin talks to (the replica
  /// itself talks to the rest).
  public let twins: [ReplicaID: Set<ReplicaID>]
  /// The directed attack of this seed, if any (``AttackCampaign``).
  public let campaign: CampaignPlan?
  /// The Byzantine client of this seed, if any (an extra client; ``ByzantineClient``).
  public let byzantineClient: ByzantineClientPlan?
  /// How long the safety phase (with faults) lasts at most.
  public let safetyDuration: SimTime
  /// How long correct replicas have to converge after the network heals.
  public let livenessBound: SimTime
  /// The most in-flight messages from correct senders to one replica.
  public let inboxCap: Int

  /// Derives every parameter from `seed`.
  public init(seed: UInt64, options: SimulationOptions = SimulationOptions()) {
    var random = SimulationRandom(seed: seed)
    self.seed = seed
    self.options = options
    // A forced campaign needs n = 3 and one pillar; its own stream decides its parts,
    // so that seeds without one keep every other parameter.
    var campaignRandom = SimulationRandom(seed: seed ^ 0xCA3F_A160_0000_0011)
    let forcedCampaign = (options.pillars ?? 1) == 1 ? options.campaign : nil
    let drawnN = [3, 3, 3, 5, 5, 7][random.int(0...5)]
    let n = forcedCampaign == nil ? drawnN : 3
    let f = (n - 1) / 2
    // The pillar count comes from its own stream, so that every other parameter of
    // a seed is what it was before pillars existed.
    var pillarRandom = SimulationRandom(seed: seed ^ 0x9111_A125)
    let drawnPillars = options.pillars ?? pillarRandom.pick([1, 1, 2, 3])
    let pillars = forcedCampaign == nil ? drawnPillars : 1
    let rotate = options.rotateLeaders ?? (pillars > 1 && pillarRandom.chance(0.5))
    // Client authentication and the Byzantine client (issue 13) come from their own
    // stream, so that every other parameter of a seed is what it was before them.
    var clientRandom = SimulationRandom(seed: seed ^ 0xC11E_27A0_0000_0013)
    let drawnAuthentication: ClientAuthMode = clientRandom.chance(0.2) ? .macs : .signatures
    let k = UInt64(random.pick([2, 3, 4, 8, 16]))
    let window = k * UInt64(random.int(2...4))
    var configuration = ProtocolConfiguration(
      replicaCount: n, checkpointInterval: k * UInt64(pillars),
      windowSize: window * UInt64(pillars), maxBatchSize: random.pick([1, 2, 4, 8, 16]),
      maxInFlight: random.int(1...min(4, Int(window))), maxOperationSize: 1024,
      pillarCount: pillars, rotateLeaders: rotate,
      clientAuthentication: options.clientAuthentication ?? drawnAuthentication)
    // A tight window byte budget (issue 11), from its own stream, in a quarter of the
    // seeds: each checkpoint interval holds one or two of the largest requests (a
    // dozen or more of the workload's), so leaders fill intervals with empty
    // batches and followers check every PREPARE against the budget.
    var budgetRandom = SimulationRandom(seed: seed ^ 0xB47E_5B0D_0000_0014)
    if budgetRandom.chance(0.25) {
      let intervals = Int(configuration.windowSize / configuration.checkpointInterval)
      configuration.maxWindowBytes =
        intervals * budgetRandom.int(1...2)
        * Request.byteCount(operation: configuration.maxOperationSize, replicas: n)
    }
    self.configuration = configuration

    clients = random.int(1...4)
    lanesPerClient = random.int(1...3)
    var operationsPerLane = random.int(2...12)
    keySpace = random.int(1...4)
    operationWeights = [random.int(0...4), random.int(1...4), random.int(0...3), random.int(0...4)]
    var thinkTime = random.uint(0...5_000)

    tickPeriod = random.pick([5_000, 10_000, 20_000])
    batchTimeout = random.uint(200...5_000)
    clientRetransmit = random.pick([30_000, 60_000, 120_000])

    let calm = random.chance(0.2)
    var links: [[LinkProfile]] = []
    for _ in 0..<n {
      links.append(
        (0..<n).map { _ in
          LinkProfile(base: random.uint(50...1_000), jitter: random.uint(0...(calm ? 200 : 4_000)))
        })
    }
    self.links = links
    clientLink = LinkProfile(base: random.uint(50...500), jitter: random.uint(0...2_000))
    var loss = calm ? 0 : random.pick([0, 0.01, 0.05, 0.15])
    duplication = calm ? 0 : random.pick([0, 0.02, 0.1])
    reordering = calm ? 0 : random.pick([0, 0.05, 0.2])
    replay = calm ? 0 : random.pick([0, 0.01, 0.05])

    var safetyDuration = random.uint(300_000...2_000_000)
    // After healing, up to f+1 views in a row may have a faulty (or crashed) leader,
    // and replicas may still be one view apart; each failed view change costs its
    // timeout, which after a stormy safety phase is already at its cap of 16 times
    // the base. Demand convergence within f+2 such timeouts plus four seconds.
    // With rotating leaders, a rotating view has every replica among its leaders
    // (one per pillar) and fails with any faulty one: one more view may fail.
    let base = SimTime(configuration.viewChangeTimeoutTicks) * tickPeriod
    let failingViews = SimTime(f + 2 + (rotate ? 1 : 0))
    livenessBound = 4_000_000 + failingViews * 16 * base

    var partitions: [PartitionEvent] = []
    for _ in 0..<(calm ? 0 : random.int(0...3)) {
      let start = random.uint(0...safetyDuration)
      let side = Array(random.shuffled(Array(0..<ReplicaID(n))).prefix(random.int(1...f)))
        .sorted()
      partitions.append(
        PartitionEvent(
          kind: random.chance(0.5) ? .symmetric : .asymmetric, side: side, start: start,
          end: start + random.uint(10_000...500_000)))
    }

    // Byzantine replicas: up to f; leader strategies need the leader (replica 0).
    var byzantineCount = random.chance(0.5) ? random.int(1...f) : 0
    if options.forcedStrategy != nil { byzantineCount = max(byzantineCount, 1) }
    if options.byzantineAtMaximum { byzantineCount = f }
    var order = random.shuffled(Array(0..<ReplicaID(n)))
    if let forced = options.forcedStrategy, forced.targetsLeader,
      let index = order.firstIndex(of: 0)
    {
      order.swapAt(0, index)
    }
    // The adaptive adversary, hold-back rules and twins come from their own stream,
    // so that seeds drawn before they existed keep every other parameter.
    var adversaryRandom = SimulationRandom(seed: seed ^ 0xADE5_A121_0000_0010)
    var byzantine: [(replica: ReplicaID, strategy: ByzantineStrategy)] = []
    for replica in order.prefix(byzantineCount) {
      var strategy = options.forcedStrategy ?? random.pick(ByzantineStrategy.classic)
      // One in 40: adaptive seeds run 3-8 times the workload, and have sweeps of
      // their own (`--byzantine adaptive`).
      if options.forcedStrategy == nil, adversaryRandom.chance(1 / 40) {
        strategy = .adaptive
      }
      byzantine.append((replica, strategy))
    }
    var campaign: CampaignPlan?
    if let forcedCampaign {
      campaign = CampaignPlan.draw(forcedCampaign, &campaignRandom)
    } else if options.campaignsDrawn, n == 3, pillars == 1, byzantine.count == 1,
      byzantine[0].strategy == .adaptive, campaignRandom.chance(0.5)
    {
      let kind = campaignRandom.pick(AttackCampaignKind.allCases)
      if kind.byzantineCandidates.contains(byzantine[0].replica) {
        campaign = CampaignPlan.draw(kind, byzantine: byzantine[0].replica, &campaignRandom)
      }
    }
    if let campaign {
      // The campaign's scheduler replaces the drawn disturbances.
      byzantine = [(campaign.byzantine, .adaptive)]
      partitions = []
      loss = 0
    }
    self.campaign = campaign
    self.loss = loss
    self.partitions = partitions
    self.byzantine = byzantine.sorted { $0.replica < $1.replica }
    let byzantineSet = Set(byzantine.map(\.replica))

    // Crashes of correct followers only (no view change yet).
    var crashes: [CrashEvent] = []
    let candidates = (1..<ReplicaID(n)).filter { !byzantineSet.contains($0) }
    let crashCount = calm || campaign != nil ? 0 : random.int(0...f)
    for replica in random.shuffled(candidates).prefix(crashCount) {
      let at = random.uint(0...safetyDuration)
      let restart: SimTime? =
        random.chance(0.7) ? at + random.uint(5_000...safetyDuration) : nil
      crashes.append(CrashEvent(replica: replica, at: at, restartAt: restart))
    }

    var slowness = [SimTime](repeating: 0, count: n)
    if random.chance(0.3) { slowness[random.int(0...(n - 1))] = random.uint(2_000...20_000) }
    self.slowness = slowness
    inboxCap = 50_000

    let drawnOperations = operationsPerLane
    let adaptive = byzantine.filter { $0.strategy == .adaptive }.map(\.replica).sorted()
    var holdBack: [HoldRule] = []
    if options.holdBack ?? !adaptive.isEmpty {
      // Held for many view-change timeouts (§5.2.3): the safety phase grows to match,
      // and so does the workload, so that there is something to disturb throughout.
      let timeout = base * 2
      safetyDuration += timeout * adversaryRandom.uint(4...10)
      operationsPerLane *= adversaryRandom.int(3...8)
      thinkTime = max(thinkTime, adversaryRandom.uint(5_000...40_000))
      holdBack = HoldRule.draw(
        &adversaryRandom, replicas: n, timeout: timeout, safety: safetyDuration,
        kinds: options.holdKinds)
    }
    if campaign != nil {
      // Room for several failed view changes with growing timeouts; the workload
      // waits out the attack, so it stays small (enough to order past one window in
      // lateWindow), or the liveness phase could not finish it.
      holdBack = []
      safetyDuration = max(safetyDuration, base * 80)
      let lanes = clients * lanesPerClient
      operationsPerLane =
        campaign?.kind == .lateWindow
        ? Int(2 * configuration.windowSize + 8) / lanes + 1 : drawnOperations
    }
    self.holdBack = holdBack
    self.safetyDuration = safetyDuration
    self.operationsPerLane = operationsPerLane
    self.thinkTime = thinkTime
    var twins: [ReplicaID: Set<ReplicaID>] = [:]
    for replica in adaptive where campaign == nil && options.twins ?? adversaryRandom.chance(0.3) {
      let others = (0..<ReplicaID(n)).filter { $0 != replica }
      twins[replica] = Set(
        adversaryRandom.shuffled(others).prefix(adversaryRandom.int(1...(others.count - 1))))
    }
    self.twins = twins
    // A power cut: every correct replica at once (drawn last, so that it changes no
    // other parameter of a seed).
    if campaign == nil, options.powerCut ?? (!calm && random.chance(0.15)) {
      let at = random.uint(0...safetyDuration)
      let restart: SimTime? =
        random.chance(0.7) ? at + random.uint(1_000...max(1_000, safetyDuration / 2)) : nil
      crashes.removeAll()
      for replica in 0..<ReplicaID(n) where !byzantineSet.contains(replica) {
        crashes.append(CrashEvent(replica: replica, at: at, restartAt: restart))
      }
    }
    self.crashes = crashes
    byzantineClient =
      options.byzantineClient ?? (campaign == nil && clientRandom.chance(0.25))
      ? ByzantineClientPlan.draw(&clientRandom, safety: safetyDuration) : nil
    // A damaged disk at one restarting replica, only without Byzantine replicas: the
    // replica cannot vote until the group passes its reservation, so it counts as
    // the one fault tolerated.
    diskFault =
      byzantine.isEmpty && !crashes.isEmpty && random.chance(0.2)
      ? (random.pick(crashes).replica, random.chance(0.5)) : nil
  }

  /// The number of faults tolerated.
  public var f: Int { configuration.faultsTolerated }

  /// How clients authenticate requests.
  public var clientAuthentication: ClientAuthMode { configuration.clientAuthentication }

  /// The strategy of `replica` if it is Byzantine.
  public func strategy(of replica: ReplicaID) -> ByzantineStrategy? {
    byzantine.first { $0.replica == replica }?.strategy
  }

  /// Whether the leader of view 0 is correct (without view change, a faulty
  /// leader may stall the run forever).
  public var leaderIsCorrect: Bool { strategy(of: 0) == nil }

  /// Every derived parameter, one per line.
  public var description: String {
    let c = configuration
    var lines = [
      "seed \(seed)\(options.commandLineFlags)",
      "replicas n=\(c.replicaCount) f=\(f) quorum=\(c.quorum) batch=\(c.maxBatchSize)"
        + " maxInFlight=\(c.maxInFlight) checkpointInterval=\(c.checkpointInterval)"
        + " window=\(c.windowSize) pillars=\(c.pillarCount)"
        + (c.rotateLeaders ? " rotating leaders" : "")
        + " client-auth=\(c.clientAuthentication.rawValue)"
        + (c.maxWindowBytes < 1 << 20 ? " windowBytes=\(c.maxWindowBytes)" : ""),
      "workload clients=\(clients) lanes=\(lanesPerClient) opsPerLane=\(operationsPerLane)"
        + " keys=\(keySpace) weights(get,put,delete,cas)=\(operationWeights)"
        + " think<=\(thinkTime)us",
      "timers tick=\(tickPeriod)us batchTimeout=\(batchTimeout)us"
        + " clientRetransmit=\(clientRetransmit)us",
      "network loss=\(loss) dup=\(duplication) reorder=\(reordering) replay=\(replay)"
        + " clientLink=\(clientLink.base)+\(clientLink.jitter)us",
      "links(base+jitter us) "
        + links.enumerated().map { i, row in
          "r\(i):[" + row.map { "\($0.base)+\($0.jitter)" }.joined(separator: ",") + "]"
        }.joined(separator: " "),
      "phases safety<=\(safetyDuration)us liveness<=\(livenessBound)us inboxCap=\(inboxCap)",
    ]
    lines += partitions.map { "partition \($0)" }
    lines += crashes.map { "crash \($0)" }
    if let diskFault {
      lines.append(
        "disk fault at replica \(diskFault.replica): journal of pillar 0 damaged"
          + (diskFault.snapshotLost ? ", snapshot lost" : ""))
    }
    for (replica, extra) in slowness.enumerated() where extra > 0 {
      lines.append("slow replica \(replica) +\(extra)us")
    }
    lines += byzantine.map { "byzantine replica \($0.replica): \($0.strategy.rawValue)" }
    lines += holdBack.map { "scheduler \($0)" }
    if let campaign { lines.append("campaign \(campaign)") }
    if let byzantineClient { lines.append("byzantine client: \(byzantineClient)") }
    for (replica, audience) in twins.sorted(by: { $0.key < $1.key }) {
      lines.append(
        "twins of replica \(replica): one talks to \(audience.sorted()), one to the rest")
    }
    if !options.injectedFaults.isEmpty {
      lines.append("injected faults (self-test) rawValue=\(options.injectedFaults.rawValue)")
    }
    return lines.joined(separator: "\n")
  }
}
