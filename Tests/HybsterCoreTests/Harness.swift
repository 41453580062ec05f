import HybsterCore
import TrInX

/// Keys shared by every test: the TrInX group key, one X25519 key per replica, and
/// the test clients' keys (issue 13). Client ids derive from the keys: tests name a
/// client by its *number* and ``clientID(_:)`` gives its id.
enum Keys {
  static let group: [UInt8] = Array(repeating: 0x42, count: 32)

  /// Replica `replica`'s raw X25519 private key.
  static func replicaAgreementKey(_ replica: Int) -> [UInt8] {
    Array(repeating: UInt8(replica + 1), count: 32)
  }

  /// The test clients every keyring admits.
  static let clientCount = 32

  /// Test client `number`'s private keys.
  static func client(_ number: Int) -> ClientSecretKeys { clients[number] }

  private static let clients: [ClientSecretKeys] = (0..<clientCount).map { number in
    // Force-try: any 32 bytes are a valid private key.
    try! ClientSecretKeys(
      signing: Array(repeating: UInt8(number), count: 31) + [0x5C],
      agreement: Array(repeating: UInt8(number), count: 31) + [0xA6])
  }

  /// Test client `number`'s id.
  static func clientID(_ number: Int) -> ClientID { clients[number].publicKeys.id }

  /// The test number of the client with id `id`.
  static func clientNumber(_ id: ClientID) -> Int? { clients.firstIndex { $0.publicKeys.id == id } }

  /// The directory of every test client.
  static let directory = try! ClientDirectory(clients.map(\.publicKeys))

  /// Replica keyrings with their key caches filled (copies derive no key again).
  private static let keyrings: [ClientKeyring] = (0..<8).map { r in
    var keyring = try! ClientKeyring(
      replica: ReplicaID(r), agreementKey: replicaAgreementKey(r), directory: directory)
    for id in directory.ids { _ = keyring.key(for: id) }
    return keyring
  }

  /// Replica `replica`'s keyring.
  static func keyring(_ replica: Int) -> ClientKeyring { keyrings[replica] }

  /// The replicas' raw X25519 public keys, in replica order.
  static func replicaPublicKeys(_ n: Int) -> [[UInt8]] { keyrings.prefix(n).map(\.publicKey) }

  /// What a pillar of `replica` authenticates requests with.
  static func authenticator(_ replica: Int, mode: ClientAuthMode = .signatures)
    -> RequestAuthenticator
  {
    RequestAuthenticator(keyring: keyring(replica), mode: mode)
  }

  /// Test client `client`'s credentials towards `n` replicas.
  static func credentials(client: Int, replicas n: Int, mode: ClientAuthMode = .signatures)
    -> ClientCredentials
  {
    // Force-try: the replicas' public keys are valid.
    try! ClientCredentials(
      secret: Keys.client(client), replicaKeys: replicaPublicKeys(n), mode: mode)
  }

  static func pillar(_ configuration: ProtocolConfiguration, replica: ReplicaID) -> OrderingPillar {
    pillar(configuration, replica: replica, pillar: 0)
  }

  /// The execution stage of `replica`, with `service`.
  static func executionStage<Service: ReplicatedService>(
    _ configuration: ProtocolConfiguration, replica: Int, service: Service
  ) -> ExecutionStage<Service> {
    ExecutionStage(
      service: service, replica: ReplicaID(replica),
      checkpointInterval: configuration.checkpointInterval, keyring: keyring(replica))
  }
}

/// Mints certificates with the group key, as any TrInX instance (or a test posing
/// as a Byzantine replica's host with access to its own instance) can.
enum Forge {
  static func trinx(_ id: TrInXInstanceID) -> TrInXInstance {
    try! TrInXInstance(id: id, counterCount: CounterLayout.count, key: Keys.group)
  }

  /// A PREPARE for (view, order) certified by instance `issuer` on `counter` with
  /// value `value` (default [view|order]); `continuing` issues a continuing
  /// certificate instead of an independent one.
  static func prepare(
    view: View = 0, order: OrderNumber, batch: Batch, issuer: TrInXInstanceID = 0,
    counter: TrInXCounterID = CounterLayout.ordering, value: CounterValue? = nil,
    continuing: Bool = false
  ) -> Prepare {
    let certified = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
    let certificate = certify(
      issuer: issuer, counter: counter,
      value: value ?? CounterLayout.flattened(view: view, order: order), continuing: continuing,
      message: certified)
    return Prepare(view: view, order: order, batch: batch, certificate: certificate)
  }

  static func commit(
    view: View = 0, order: OrderNumber, batchDigest: Digest, replica: ReplicaID,
    issuer: TrInXInstanceID? = nil, counter: TrInXCounterID = CounterLayout.ordering,
    value: CounterValue? = nil, continuing: Bool = false
  ) -> Commit {
    let certified = Commit.certifiedDigest(view: view, order: order, batchDigest: batchDigest)
    let certificate = certify(
      issuer: issuer ?? TrInXInstanceID(replica), counter: counter,
      value: value ?? CounterLayout.flattened(view: view, order: order), continuing: continuing,
      message: certified)
    return Commit(
      view: view, order: order, batchDigest: batchDigest, replica: replica,
      certificate: certificate)
  }

  /// A CHECKPOINT with a trusted MAC (or, with `independent`, an independent
  /// certificate of value [0|1]).
  static func checkpoint(
    order: OrderNumber, stateDigest: Digest, replica: ReplicaID, issuer: TrInXInstanceID? = nil,
    counter: TrInXCounterID = CounterLayout.checkpoint, independent: Bool = false
  ) -> CheckpointMessage {
    var trinx = trinx(issuer ?? TrInXInstanceID(replica))
    let certified = CheckpointMessage.certifiedDigest(order: order, stateDigest: stateDigest)
    let certificate =
      independent
      ? try! trinx.certifyIndependent(
        counter: counter, newValue: CounterValue(high: 0, low: 1), message: certified)
      : try! trinx.trustedMAC(counter: counter, message: certified)
    return CheckpointMessage(
      order: order, stateDigest: stateDigest, replica: replica, certificate: certificate)
  }

  static func certify(
    issuer: TrInXInstanceID, counter: TrInXCounterID, value: CounterValue, continuing: Bool,
    message: Digest
  ) -> Certificate {
    var trinx = trinx(issuer)
    return continuing
      ? try! trinx.certifyContinuing(counter: counter, newValue: value, message: message)
      : try! trinx.certifyIndependent(counter: counter, newValue: value, message: message)
  }

  /// `certificate` with one MAC byte flipped.
  static func flipped(_ certificate: Certificate, byte: Int = 0) -> Certificate {
    var bytes = certificate.mac.bytes
    bytes[byte] ^= 0x01
    var copy = certificate
    copy.mac = TrInXMAC(bytes: bytes)!
    return copy
  }
}

/// A message in flight.
struct Envelope: Sendable {
  var from: ReplicaID
  var to: ReplicaID
  var message: ProtocolMessage
}

/// A synchronous harness: n ordering pillars with their execution stages, and a
/// network queue the test controls (drop, duplicate, reorder, tamper).
final class Cluster<Service: ReplicatedService> {
  let configuration: ProtocolConfiguration
  var pillars: [OrderingPillar]
  var executions: [ExecutionStage<Service>]
  /// Messages in flight.
  var network: [Envelope] = []
  /// Every message the pillars sent, before interception.
  var sent: [Envelope] = []
  /// Per replica: the instances delivered, in order.
  var delivered: [[(order: OrderNumber, view: View, digest: Digest)]]
  /// Per replica: the (lane, sequence) pairs executed, in order.
  var executed: [[RequestKey]]
  /// Per replica: every reply produced.
  var replies: [[Reply]]
  var rejections: [[Rejection]]
  var stableCheckpoints: [[OrderNumber]]
  var stateTransfers: [[(order: OrderNumber, digest: Digest, from: [ReplicaID])]]
  var snapshots: [[CheckpointSnapshot]]
  var timerArmed: [Bool]
  var timerArmCount: [Int]
  var viewChangesStarted: [[View]]
  var viewsInstalled: [[View]]
  /// Whether snapshots of the execution stage are fed back as `.checkpointTaken`.
  var feedCheckpoints = true
  /// Called for each message taken from the network; returns what is delivered.
  var intercept: ((Envelope) -> [Envelope])?
  /// If set, the next message is drawn at random from the queue (reordering).
  var reorder: SplitMix64?
  /// Whether `stateTransferNeeded` is served at once from a peer's snapshot.
  var autoStateTransfer = true
  /// Replicas that receive nothing and are given no input.
  var crashed: Set<ReplicaID> = []

  /// Each replica's disk (issue 12): its pillar's journal, folded, and the snapshot
  /// of its last checkpoint. Filled once ``journal()`` turned journaling on.
  var journals: [PillarRecovery]
  var durableSnapshots: [CheckpointSnapshot?]
  let makeService: () -> Service

  var n: Int { configuration.replicaCount }

  init(_ configuration: ProtocolConfiguration, service: @escaping () -> Service) {
    self.configuration = configuration
    makeService = service
    journals = Array(repeating: PillarRecovery(), count: configuration.replicaCount)
    durableSnapshots = Array(repeating: nil, count: configuration.replicaCount)
    let n = configuration.replicaCount
    pillars = (0..<n).map { Keys.pillar(configuration, replica: ReplicaID($0)) }
    executions = (0..<n).map { Keys.executionStage(configuration, replica: $0, service: service()) }
    delivered = Array(repeating: [], count: n)
    executed = Array(repeating: [], count: n)
    replies = Array(repeating: [], count: n)
    rejections = Array(repeating: [], count: n)
    stableCheckpoints = Array(repeating: [], count: n)
    stateTransfers = Array(repeating: [], count: n)
    snapshots = Array(repeating: [], count: n)
    timerArmed = Array(repeating: false, count: n)
    timerArmCount = Array(repeating: 0, count: n)
    viewChangesStarted = Array(repeating: [], count: n)
    viewsInstalled = Array(repeating: [], count: n)
  }

  /// Test client `client`'s credentials, in the configuration's mode.
  func credentials(client: Int) -> ClientCredentials {
    Keys.credentials(client: client, replicas: n, mode: configuration.clientAuthentication)
  }

  /// Gives `input` to replica `r` and carries out its actions.
  func input(_ input: PillarInput, at r: ReplicaID) {
    guard !crashed.contains(r) else { return }
    let actions = pillars[Int(r)].handle(input)
    apply(actions, at: r)
  }

  func apply(_ actions: [PillarAction], at r: ReplicaID) {
    let i = Int(r)
    for action in actions {
      switch action {
      case .send(let message, let to):
        enqueue(Envelope(from: r, to: to, message: message))
      case .broadcast(let message):
        for to in configuration.replicas where to != r {
          enqueue(Envelope(from: r, to: to, message: message))
        }
      case .deliver(let order, let view, let batch):
        delivered[i].append((order, view, batch.digest))
        let before = replies[i].count
        let snapshot = executions[i].execute(
          order: order, view: view, batch: batch, replies: &replies[i])
        executed[i] += replies[i][before...].map { RequestKey($0) }
        if let snapshot {
          snapshots[i].append(snapshot)
          durableSnapshots[i] = snapshot
          if feedCheckpoints {
            input(.checkpointTaken(order: order, stateDigest: snapshot.digest), at: r)
          }
        }
      case .checkpointStable(let stable):
        stableCheckpoints[i].append(stable.order)
        executions[i].checkpointStable(at: stable.order)
      case .stateTransferNeeded(let order, let digest, let from):
        stateTransfers[i].append((order, digest, from))
        guard autoStateTransfer else { break }
        // Fetch the checkpoint from a replica that vouched for it, check it against
        // the agreed digest, install it and tell the pillar.
        for peer in from {
          guard let snapshot = executions[Int(peer)].snapshots[order], snapshot.digest == digest
          else { continue }
          try! executions[i].install(snapshot)
          input(.stateTransferred(order: order, executed: executions[i].replies), at: r)
          break
        }
      case .armBatchTimer:
        timerArmed[i] = true
        timerArmCount[i] += 1
      case .persist(let record):
        journals[i].apply(record)
      case .rejected(let rejection):
        rejections[i].append(rejection)
      case .viewChangeStarted(let view):
        viewChangesStarted[i].append(view)
      case .viewInstalled(let view, _):
        viewsInstalled[i].append(view)
      case .proposedThrough, .readyToLead, .newViewPart:
        break  // only meaningful with several pillars (§5.3.1); these tests use one
      }
    }
  }

  func enqueue(_ envelope: Envelope) {
    sent.append(envelope)
    network.append(envelope)
  }

  /// Delivers one message from the network; false if it was empty.
  @discardableResult
  func step() -> Bool {
    guard !network.isEmpty else { return false }
    var index = 0
    if var rng = reorder {
      index = Int(rng.next() % UInt64(network.count))
      reorder = rng
    }
    let envelope = network.remove(at: index)
    for e in intercept?(envelope) ?? [envelope] where !crashed.contains(e.to) {
      input(.message(e.message, from: e.from), at: e.to)
    }
    return true
  }

  /// Delivers messages until the network is empty.
  func run(maxSteps: Int = 1_000_000) {
    var steps = 0
    while step() {
      steps += 1
      precondition(steps < maxSteps, "network did not quiesce")
    }
  }

  /// Turns on every replica's journal (issue 12).
  func journal() {
    for i in pillars.indices { pillars[i].journaling = true }
  }

  /// Crashes replica `r`: it loses everything but its disk; messages to it are lost.
  func crash(_ r: ReplicaID) {
    crashed.insert(r)
    network.removeAll { $0.to == r }
  }

  /// Restarts crashed replica `r` from its disk alone, as `hybster replica` does.
  func restart(_ r: ReplicaID) {
    let i = Int(r)
    crashed.remove(r)
    executions[i] = Keys.executionStage(configuration, replica: i, service: makeService())
    if let snapshot = durableSnapshots[i] { try! executions[i].install(snapshot) }
    var counters = [CounterValue](repeating: .zero, count: CounterLayout.count)
    counters[Int(CounterLayout.ordering)] = journals[i].counter
    let trinx = try! TrInXInstance(
      id: configuration.trinxInstance(of: r, pillar: 0), counterCount: CounterLayout.count,
      key: Keys.group, restoredCounters: counters)
    pillars[i] = OrderingPillar(
      recovering: journals[i], configuration: configuration, replica: r, trinx: trinx,
      clients: Keys.authenticator(i, mode: configuration.clientAuthentication),
      executedThrough: executions[i].lastExecuted)
    var actions: [PillarAction] = []
    pillars[i].resume(into: &actions)
    apply(actions, at: r)
    if let snapshot = durableSnapshots[i] {
      input(.checkpointTaken(order: snapshot.order, stateDigest: snapshot.digest), at: r)
    }
  }

  /// Fires every armed batch timer.
  func fireTimers() {
    for r in configuration.replicas where timerArmed[Int(r)] {
      timerArmed[Int(r)] = false
      input(.batchTimeout, at: r)
    }
  }

  func tickAll() {
    for r in configuration.replicas { input(.tick, at: r) }
  }

  /// Messages sent so far matching `filter`.
  func sentMessages(where filter: (Envelope) -> Bool) -> [Envelope] { sent.filter(filter) }

  /// The PREPAREs the leader broadcast (one envelope per proposal, to replica `to`).
  func proposals(to: ReplicaID = 1) -> [Prepare] {
    sent.compactMap {
      if case .prepare(let p) = $0.message, $0.to == to, $0.from == pillars[0].leader { return p }
      return nil
    }
  }

  /// The digest a checkpoint of replica `r`'s current state would carry.
  func stateDigest(_ r: Int) -> Digest {
    CheckpointSnapshot(
      order: executions[r].lastExecuted, serviceState: executions[r].service.snapshot(),
      replies: executions[r].replies
    ).digest
  }
}

/// A request identity for comparing execution sequences.
struct RequestKey: Hashable, Sendable {
  var client: ClientID
  var lane: UInt32
  var sequence: UInt64
  init(_ reply: Reply) {
    (client, lane, sequence) = (reply.client, reply.lane, reply.sequence)
  }
  init(client: ClientID, lane: UInt32, sequence: UInt64) {
    (self.client, self.lane, self.sequence) = (client, lane, sequence)
  }
}

/// A small deterministic PRNG: every random choice in these tests derives from a seed.
struct SplitMix64: RandomNumberGenerator, Sendable {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Action inspection helpers.
extension Array where Element == PillarAction {
  var prepares: [Prepare] {
    compactMap { if case .broadcast(.prepare(let p)) = $0 { p } else { nil } }
  }
  var commits: [Commit] {
    compactMap { if case .broadcast(.commit(let c)) = $0 { c } else { nil } }
  }
  var checkpoints: [CheckpointMessage] {
    compactMap { if case .broadcast(.checkpoint(let c)) = $0 { c } else { nil } }
  }
  var deliveries: [(order: OrderNumber, batch: Batch)] {
    compactMap { if case .deliver(let o, _, let b) = $0 { (o, b) } else { nil } }
  }
  var rejections: [Rejection] {
    compactMap { if case .rejected(let r) = $0 { r } else { nil } }
  }
  var statuses: [StatusMessage] {
    compactMap { if case .broadcast(.status(let s)) = $0 { s } else { nil } }
  }
  var stable: [OrderNumber] {
    compactMap { if case .checkpointStable(let s) = $0 { s.order } else { nil } }
  }
  var stateTransfers: [OrderNumber] {
    compactMap { if case .stateTransferNeeded(let o, _, _) = $0 { o } else { nil } }
  }
  var armCount: Int { filter { $0 == .armBatchTimer }.count }
  func sends(to replica: ReplicaID) -> [ProtocolMessage] {
    compactMap { if case .send(let m, let to) = $0, to == replica { m } else { nil } }
  }
}

/// A configuration for tests (n replicas, small K and W by default).
func testConfiguration(
  n: Int = 3, k: UInt64 = 4, w: UInt64 = 8, batch: Int = 1, inFlight: Int = 8,
  auth: ClientAuthMode = .signatures
) -> ProtocolConfiguration {
  let c = ProtocolConfiguration(
    replicaCount: n, checkpointInterval: k, windowSize: w, maxBatchSize: batch,
    maxInFlight: inFlight, clientAuthentication: auth)
  try! c.validate()
  return c
}
