import HybsterCore
import TrInX

/// One state of the explored system (issue 10, item 3): n = 3 replicas, the correct
/// ones running the unmodified core (``ReplicaPillars``), one Byzantine
/// ``ExplorerAdversary``, the set of messages in flight and the client requests.
///
/// A value type: the search copies it to branch. Its ``fingerprint`` identifies it:
/// the correct replicas' protocol states (hashed by reflection), their executed
/// batches, the messages in flight and already delivered, the adversary's counters
/// and holdings, and which requests arrived where. Deliveries to different replicas
/// commute, and the two orders reach one fingerprint.
public struct ExplorerWorld: Sendable {
  let bounds: ExplorerBounds
  let configuration: ProtocolConfiguration
  /// The client requests, index i from the one client, lane i.
  let requests: [Request]
  let requestDigests: Set<Digest>
  /// The correct replicas (nil at the Byzantine replica's index).
  var replicas: [ExplorerReplica?]
  var adversary: ExplorerAdversary?
  /// Messages in flight, by ``ExplorerEnvelope/destination``.
  var network: [UInt64: ExplorerEnvelope] = [:]
  /// Every ``ExplorerEnvelope/destination`` ever put in flight: each distinct message
  /// reaches each replica and pillar at most once.
  var sent: Set<UInt64> = []
  /// (request, replica) arrivals so far.
  var arrived: Set<Int> = []
  /// Budgets used on the path here.
  var byzantineMovesUsed = 0
  var timeoutsUsed = 0
  /// Whether the budgets apply (not while replaying a trace or its prefix).
  var budgeted = true
  /// The first safety violation, once one happened.
  public private(set) var violation: SafetyViolation?

  /// The initial state.
  public init(bounds: ExplorerBounds) {
    precondition(bounds.requests >= 0 && bounds.requests <= 8, "0-8 requests")
    self.bounds = bounds
    configuration = bounds.configuration
    let groupKey = [UInt8](repeating: 0x42, count: 32)
    // Force-try: 32-byte keys by construction.
    let client = try! ClientSecretKeys(
      signing: [UInt8](repeating: 0xC1, count: 32), agreement: [UInt8](repeating: 0xC2, count: 32))
    let directory = try! ClientDirectory([client.publicKeys])
    let keyrings = (0..<3).map { r in
      var keyring = try! ClientKeyring(
        replica: ReplicaID(r), agreementKey: [UInt8](repeating: UInt8(r + 1), count: 32),
        directory: directory)
      _ = keyring.key(for: client.publicKeys.id)  // derived once, not on every path
      return keyring
    }
    let credentials = try! ClientCredentials(
      secret: client, replicaKeys: keyrings.map(\.publicKey),
      mode: bounds.configuration.clientAuthentication)
    // Shared by every state: a signature's validity is a pure function.
    let signatures = SignatureMemo()
    requests = (0..<bounds.requests).map {
      credentials.request(lane: UInt32($0), sequence: 1, operation: [UInt8($0), 0x01])
    }
    requestDigests = Set(requests.map(\.digest))
    replicas = (0..<3).map { r -> ExplorerReplica? in
      let replica = ReplicaID(r)
      guard replica != bounds.byzantine else { return nil }
      let pillars = (0..<bounds.pillars).map { u in
        var pillar = OrderingPillar(
          configuration: bounds.configuration, replica: replica, pillar: u,
          // Force-unwrap: the key has 32 bytes by construction.
          trinx: try! TrInXInstance(
            id: bounds.configuration.trinxInstance(of: replica, pillar: u),
            counterCount: CounterLayout.count, key: groupKey),
          clients: RequestAuthenticator(
            keyring: keyrings[r], mode: bounds.configuration.clientAuthentication,
            signatures: signatures))
        pillar.injectedFaults = bounds.injectedFaults
        return pillar
      }
      var model = ExplorerReplica(core: ReplicaPillars(pillars: pillars))
      model.coreFingerprint = StateFingerprint.of(model.core)
      return model
    }
    if let byzantine = bounds.byzantine {
      adversary = ExplorerAdversary(
        replica: byzantine, configuration: bounds.configuration, groupKey: groupKey)
    }
  }

  /// The correct replicas' ids.
  var correct: [ReplicaID] {
    replicas.indices.filter { replicas[$0] != nil }.map { ReplicaID($0) }
  }

  /// The state's identity (budgets excluded; the search compares them apart).
  var fingerprint: UInt64 {
    var hasher = StableHasher()
    for replica in replicas {
      if let replica {
        hasher.combine(replica.coreFingerprint)
        hasher.combine(replica.shellFingerprint)
      } else {
        hasher.combine(0)
      }
    }
    hasher.combine(adversary?.fingerprint ?? 0)
    hasher.combine(StableHasher.unordered(network.keys))
    hasher.combine(StableHasher.unordered(sent))
    hasher.combine(StableHasher.unordered(arrived.map { UInt64($0) }))
    return hasher.finalized
  }

  /// The messages in flight, in the order of exploration.
  var inFlight: [ExplorerEnvelope] { network.values.sorted(by: ExplorerEnvelope.precedes) }

  // MARK: - Transitions

  /// Every step possible here, in a deterministic order: deliveries first, then
  /// client requests, timeouts, state transfers, batch timers, Byzantine moves.
  /// A step may still turn out to do nothing (``apply(_:)`` says so).
  func enabledSteps() -> [ExplorerStep] {
    var steps: [ExplorerStep] = inFlight.map {
      .deliver($0.key, from: $0.from, to: $0.to, pillar: $0.pillar)
    }
    for r in correct {
      for i in requests.indices where !arrived.contains(i * 8 + Int(r)) {
        steps.append(.request(i, to: r))
      }
    }
    if timeoutsUsed < bounds.timeouts {
      for r in correct { steps.append(.timeout(r)) }
    }
    for r in correct {
      if replicas[Int(r)]!.needsTransfer { steps.append(.stateTransfer(r)) }
      for u in replicas[Int(r)]!.armedTimers.sorted() { steps.append(.batchTimeout(r, pillar: u)) }
    }
    if let adversary, byzantineMovesUsed < bounds.byzantineMoves {
      let moves = adversary.moves(
        bounds: bounds, requests: requests.count, correct: correct,
        delivered: { to, pillar, fingerprint in
          sent.contains(Self.destination(to: to, pillar: pillar, fingerprint: fingerprint))
        })
      steps += moves.map { .byzantine($0) }
    }
    return steps
  }

  static func destination(to: ReplicaID, pillar: Int, fingerprint: UInt64) -> UInt64 {
    var hasher = StableHasher()
    hasher.combine(UInt64(to) << 32 | UInt64(pillar))
    hasher.combine(fingerprint)
    return hasher.finalized
  }

  /// Takes `step`. Returns false, leaving the state as it was, if the step is not
  /// possible or changes nothing worth exploring (a timeout that starts no view
  /// change, a message that is not in flight, a view beyond the bound).
  public mutating func apply(_ step: ExplorerStep) -> Bool {
    let before = self
    guard violation == nil, perform(step) else {
      self = before
      return false
    }
    if violation == nil,
      correct.contains(where: { replicas[Int($0)]!.core.coordinator.leaving > bounds.maxView })
    {
      // Beyond the view bound: not explored (a violation found on the way counts).
      self = before
      return false
    }
    return true
  }

  private mutating func perform(_ step: ExplorerStep) -> Bool {
    switch step {
    case .request(let i, let to):
      guard requests.indices.contains(i), replicas.indices.contains(Int(to)),
        replicas[Int(to)] != nil, arrived.insert(i * 8 + Int(to)).inserted
      else { return false }
      input(Int(to), .request(requests[i]))
      return true
    case .deliver(let key, let from, let to, let pillar):
      guard
        let envelope = inFlight.first(where: {
          $0.key == key && $0.from == from && $0.to == to && $0.pillar == pillar
        })
      else { return false }
      network[envelope.destination] = nil
      input(Int(to), .message(envelope.message, from: from, pillar: pillar))
      return true
    case .timeout(let r):
      guard !budgeted || timeoutsUsed < bounds.timeouts, replicas.indices.contains(Int(r)),
        replicas[Int(r)] != nil
      else { return false }
      timeoutsUsed += 1
      // Tick until the replica suspects the leader or moves on (the timeout doubles
      // with every failed view change: at most 16 times the configured one).
      let leaving = replicas[Int(r)]!.core.coordinator.leaving
      for _ in 0..<(configuration.viewChangeTimeoutTicks * 17) {
        input(Int(r), .tick)
        if replicas[Int(r)]!.core.coordinator.leaving > leaving || violation != nil {
          return true
        }
      }
      return false
    case .batchTimeout(let r, let pillar):
      guard replicas.indices.contains(Int(r)), replicas[Int(r)] != nil,
        replicas[Int(r)]!.armedTimers.remove(pillar) != nil
      else { return false }
      input(Int(r), .batchTimeout(pillar: pillar))
      return true
    case .stateTransfer(let r):
      guard replicas.indices.contains(Int(r)), let replica = replicas[Int(r)],
        replica.needsTransfer
      else { return false }
      replicas[Int(r)]!.needsTransfer = false
      guard let stable = replica.core.stableCheckpoint,
        replica.core.nextExecution <= stable.order
      else { return true }
      // The state f+1 replicas vouched for: its digest is the running hash.
      replicas[Int(r)]!.chain = stable.stateDigest
      input(Int(r), .stateTransferred(order: stable.order, executed: ReplyCache()))
      return true
    case .byzantine(let move):
      guard !budgeted || byzantineMovesUsed < bounds.byzantineMoves, var adversary,
        let (message, pillar, to) = adversary.perform(move, requests: requests)
      else { return false }
      self.adversary = adversary
      byzantineMovesUsed += 1
      if let to {
        guard replicas.indices.contains(Int(to)), replicas[Int(to)] != nil else { return false }
        let envelope = ExplorerEnvelope(
          from: adversary.replica, to: to, pillar: pillar, message: message,
          configuration: configuration)
        // A message a replica already received is not sent again (no duplicates).
        guard sent.insert(envelope.destination).inserted else { return false }
        input(Int(to), .message(message, from: adversary.replica, pillar: pillar))
      }
      return true
    }
  }

  // MARK: - Correct replicas

  /// Feeds one input to correct replica `r` and carries out its actions; the
  /// execution stage's checkpoints are fed back at once.
  mutating func input(_ r: Int, _ first: ReplicaPillars.Input) {
    var inputs = [first]
    var orderMessages: [(pillar: Int, order: OrderNumber, text: String)] = []
    while !inputs.isEmpty {
      let next = inputs.removeFirst()
      var actions: [ReplicaPillars.Action] = []
      replicas[r]!.core.handle(next, into: &actions)
      for action in actions {
        switch action {
        case .send(let message, let to, let pillar):
          if let order = Self.orderNumber(message) {
            orderMessages.append((pillar, order, "\(MessageKey(message, sender: ReplicaID(r)))"))
          }
          send(message, from: ReplicaID(r), to: to, pillar: pillar)
        case .broadcast(let message, let pillar):
          if let order = Self.orderNumber(message) {
            orderMessages.append((pillar, order, "\(MessageKey(message, sender: ReplicaID(r)))"))
          }
          for to in 0..<3 where to != r {
            send(message, from: ReplicaID(r), to: ReplicaID(to), pillar: pillar)
          }
        case .deliver(let order, _, let batch):
          if let digest = delivered(r, order: order, batch: batch) {
            inputs.append(.checkpointTaken(order: order, stateDigest: digest))
          }
        case .checkpointStable(let order, let digest):
          checkStable(r, order: order, digest: digest)
        case .stateTransferNeeded:
          replicas[r]!.needsTransfer = true
        case .armBatchTimer(let pillar):
          replicas[r]!.armedTimers.insert(pillar)
        case .viewChangeStarted, .viewInstalled, .persist, .rejected:
          break
        }
      }
    }
    replicas[r]!.coreFingerprint = StateFingerprint.of(replicas[r]!.core)
    checkWindow(r, orderMessages: orderMessages)
  }

  /// The local order number a PREPARE or COMMIT acts on.
  static func orderNumber(_ message: ProtocolMessage) -> OrderNumber? {
    switch message {
    case .prepare(let p): p.order
    case .commit(let c): c.order
    default: nil
    }
  }

  mutating func send(_ message: ProtocolMessage, from: ReplicaID, to: ReplicaID, pillar: Int) {
    if case .status = message, !bounds.includeStatus { return }
    if to == adversary?.replica {
      adversary!.hold(message, pillar: pillar, sender: from, own: false)
      return
    }
    let envelope = ExplorerEnvelope(
      from: from, to: to, pillar: pillar, message: message, configuration: configuration)
    guard sent.insert(envelope.destination).inserted else { return }
    network[envelope.destination] = envelope
  }

  // MARK: - Checks

  /// Records a delivery, checks agreement and validity, and returns the state
  /// digest if the execution stage takes a checkpoint after it.
  mutating func delivered(_ r: Int, order: OrderNumber, batch: Batch) -> Digest? {
    let digest = batch.digest
    for other in correct where Int(other) != r {
      if let theirs = replicas[Int(other)]!.delivered[order], theirs != digest {
        fail(
          .agreement,
          "r\(r) delivered batch \(digest) (\(batch.requests.count) requests) at order \(order),"
            + " r\(other) delivered \(theirs)")
      }
    }
    if let invented = batch.requests.first(where: { !requestDigests.contains($0.digest) }) {
      fail(
        .validity,
        "r\(r) delivered a request no client sent at order \(order) (client \(invented.client)"
          + " lane \(invented.lane))")
    }
    replicas[r]!.delivered[order] = digest
    replicas[r]!.chain = ExplorerReplica.extend(replicas[r]!.chain, with: batch)
    let layout = configuration.layout
    let pillar = layout.pillar(ofGlobal: order)
    let local = layout.local(ofGlobal: order)
    let high = replicas[r]!.core.pillars[pillar].highWaterMark
    if local > high {
      fail(.window, "r\(r) delivered order \(order) beyond its high water mark (local \(high))")
    }
    guard order % configuration.checkpointInterval == 0 else { return nil }
    let state = replicas[r]!.chain
    replicas[r]!.snapshots[order] = state
    for other in correct where Int(other) != r {
      if let theirs = replicas[Int(other)]!.snapshots[order], theirs != state {
        fail(
          .checkpointDigest,
          "r\(r)'s state at checkpoint \(order) is \(state), r\(other)'s is \(theirs)")
      }
    }
    return state
  }

  mutating func checkStable(_ r: Int, order: OrderNumber, digest: Digest) {
    for other in correct {
      if let computed = replicas[Int(other)]!.snapshots[order], computed != digest {
        fail(
          .checkpointDigest,
          "r\(r) holds checkpoint \(order) stable with digest \(digest); r\(other) computed"
            + " \(computed)")
      }
    }
  }

  mutating func checkWindow(
    _ r: Int, orderMessages: [(pillar: Int, order: OrderNumber, text: String)]
  ) {
    let pillars = replicas[r]!.core.pillars
    for message in orderMessages where message.order > pillars[message.pillar].highWaterMark {
      fail(
        .window,
        "r\(r) sent \(message.text) in pillar \(message.pillar) beyond its high water mark"
          + " \(pillars[message.pillar].highWaterMark)")
    }
    for pillar in pillars where pillar.logSize > Int(pillar.windowSize) {
      fail(
        .window,
        "r\(r) pillar \(pillar.pillar) keeps \(pillar.logSize) log slots; the window is"
          + " \(pillar.windowSize)")
    }
  }

  mutating func fail(_ property: SafetyProperty, _ detail: String) {
    guard violation == nil else { return }
    violation = SafetyViolation(property: property, detail: detail)
  }
}
