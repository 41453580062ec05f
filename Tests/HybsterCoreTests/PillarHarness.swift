import HybsterCore
import TrInX

/// A message in flight between equal pillars of two replicas (§5.3: pillar u of one
/// replica talks to pillar u of the others).
struct PillarEnvelope: Sendable {
  var from: ReplicaID
  var to: ReplicaID
  var pillar: Int
  var message: ProtocolMessage
}

extension Keys {
  /// The TrInX instance of pillar `pillar` of `replica`, as the configuration assigns it.
  static func trinx(_ configuration: ProtocolConfiguration, replica: ReplicaID, pillar: Int)
    -> TrInXInstance
  {
    try! TrInXInstance(
      id: configuration.trinxInstance(of: replica, pillar: pillar),
      counterCount: CounterLayout.count, key: group)
  }

  /// Pillar `pillar` of `replica`, with its own TrInX instance (§5.3.1).
  static func pillar(_ configuration: ProtocolConfiguration, replica: ReplicaID, pillar: Int)
    -> OrderingPillar
  {
    OrderingPillar(
      configuration: configuration, replica: replica, pillar: pillar,
      trinx: trinx(configuration, replica: replica, pillar: pillar),
      clients: authenticator(Int(replica), mode: configuration.clientAuthentication))
  }

  /// All P pillars of `replica` and their coordinator.
  static func replicaPillars(_ configuration: ProtocolConfiguration, replica: ReplicaID)
    -> ReplicaPillars
  {
    ReplicaPillars(
      pillars: (0..<configuration.pillarCount).map {
        pillar(configuration, replica: replica, pillar: $0)
      })
  }
}

/// A synchronous harness for the parallel core (§5.3): n replicas, each P
/// ``OrderingPillar``s composed by ``ReplicaPillars``, with an execution stage each
/// and a network queue the test controls (drop, hold back, crash).
final class PillarCluster<Service: ReplicatedService> {
  let configuration: ProtocolConfiguration
  var replicas: [ReplicaPillars]
  var executions: [ExecutionStage<Service>]
  /// Messages in flight.
  var network: [PillarEnvelope] = []
  /// Every message a replica sent, before interception.
  var sent: [PillarEnvelope] = []
  /// Messages diverted by ``hold`` instead of being delivered.
  var held: [PillarEnvelope] = []
  /// Per replica: every action it produced, in order.
  var actions: [[ReplicaPillars.Action]]
  /// Per replica: the instances delivered to execution (global order numbers).
  var delivered: [[(order: OrderNumber, view: View, batch: Batch)]]
  /// Per replica: deliveries that were not the next global order number.
  var executionGaps: [[OrderNumber]]
  /// Per replica: the (client, lane, sequence) executed, in order.
  var executed: [[RequestKey]]
  var replies: [[Reply]]
  /// Per replica: rejections with the pillar that made them.
  var rejections: [[(rejection: Rejection, pillar: Int)]]
  /// Per replica: the stable checkpoints reported, at global order numbers.
  var stableCheckpoints: [[OrderNumber]]
  var stateTransfers: [[OrderNumber]]
  var viewChangesStarted: [[View]]
  var viewsInstalled: [[(view: View, leader: ReplicaID)]]
  /// Per replica and pillar: whether the batch timer is armed.
  var timerArmed: [[Bool]]
  /// Replicas that receive nothing and are given no input (crashed or silenced).
  var crashed: Set<ReplicaID> = []
  /// Messages for which this returns true are dropped when taken from the network.
  var drop: ((PillarEnvelope) -> Bool)?
  /// Messages for which this returns true are moved to ``held`` when taken from the
  /// network (the test delivers them later with ``release(_:)``).
  var hold: ((PillarEnvelope) -> Bool)?
  /// Whether execution snapshots are fed back as `.checkpointTaken`.
  var feedCheckpoints = true

  var n: Int { configuration.replicaCount }
  var pillarCount: Int { configuration.pillarCount }
  var layout: PillarLayout { configuration.layout }

  init(_ configuration: ProtocolConfiguration, service: () -> Service) {
    self.configuration = configuration
    let n = configuration.replicaCount
    replicas = (0..<n).map { Keys.replicaPillars(configuration, replica: ReplicaID($0)) }
    executions = (0..<n).map { Keys.executionStage(configuration, replica: $0, service: service()) }
    actions = Array(repeating: [], count: n)
    delivered = Array(repeating: [], count: n)
    executionGaps = Array(repeating: [], count: n)
    executed = Array(repeating: [], count: n)
    replies = Array(repeating: [], count: n)
    rejections = Array(repeating: [], count: n)
    stableCheckpoints = Array(repeating: [], count: n)
    stateTransfers = Array(repeating: [], count: n)
    viewChangesStarted = Array(repeating: [], count: n)
    viewsInstalled = Array(repeating: [], count: n)
    timerArmed = Array(
      repeating: Array(repeating: false, count: configuration.pillarCount), count: n)
  }

  /// Test client `client`'s credentials, in the configuration's mode.
  func credentials(client: Int) -> ClientCredentials {
    Keys.credentials(client: client, replicas: n, mode: configuration.clientAuthentication)
  }

  /// Gives `input` to replica `r` and carries out its actions.
  func input(_ input: ReplicaPillars.Input, at r: ReplicaID) {
    guard !crashed.contains(r) else { return }
    let produced = replicas[Int(r)].handle(input)
    apply(produced, at: r)
  }

  func apply(_ produced: [ReplicaPillars.Action], at r: ReplicaID) {
    let i = Int(r)
    actions[i] += produced
    for action in produced {
      switch action {
      case .send(let message, let to, let pillar):
        enqueue(PillarEnvelope(from: r, to: to, pillar: pillar, message: message))
      case .broadcast(let message, let pillar):
        for to in configuration.replicas where to != r {
          enqueue(PillarEnvelope(from: r, to: to, pillar: pillar, message: message))
        }
      case .deliver(let order, let view, let batch):
        delivered[i].append((order, view, batch))
        guard order == executions[i].lastExecuted + 1 else {
          executionGaps[i].append(order)
          continue
        }
        let before = replies[i].count
        let snapshot = executions[i].execute(
          order: order, view: view, batch: batch, replies: &replies[i])
        executed[i] += replies[i][before...].map { RequestKey($0) }
        if let snapshot, feedCheckpoints {
          input(.checkpointTaken(order: order, stateDigest: snapshot.digest), at: r)
        }
      case .checkpointStable(let order, _):
        stableCheckpoints[i].append(order)
        executions[i].checkpointStable(at: order)
      case .stateTransferNeeded(let order, let digest, let from):
        stateTransfers[i].append(order)
        guard executions[i].lastExecuted < order else { break }
        for peer in from {
          guard let snapshot = executions[Int(peer)].snapshots[order], snapshot.digest == digest
          else { continue }
          try! executions[i].install(snapshot)
          input(.stateTransferred(order: order, executed: executions[i].replies), at: r)
          break
        }
      case .viewChangeStarted(let view):
        viewChangesStarted[i].append(view)
      case .viewInstalled(let view, let leader):
        viewsInstalled[i].append((view, leader))
      case .armBatchTimer(let pillar):
        timerArmed[i][pillar] = true
      case .rejected(let rejection, let pillar):
        rejections[i].append((rejection, pillar))
      case .persist:
        break  // these tests do not restart replicas
      }
    }
  }

  func enqueue(_ envelope: PillarEnvelope) {
    sent.append(envelope)
    network.append(envelope)
  }

  /// Hands `envelope` to its receiver, whatever the filters say.
  func deliver(_ envelope: PillarEnvelope) {
    input(.message(envelope.message, from: envelope.from, pillar: envelope.pillar), at: envelope.to)
  }

  /// Delivers messages held back earlier (all of them by default).
  func release(_ filter: (PillarEnvelope) -> Bool = { _ in true }) {
    let chosen = held.filter(filter)
    held.removeAll(where: filter)
    for envelope in chosen { deliver(envelope) }
  }

  /// Delivers one message from the network; false if it was empty.
  @discardableResult
  func step() -> Bool {
    guard !network.isEmpty else { return false }
    let envelope = network.removeFirst()
    if crashed.contains(envelope.to) || drop?(envelope) == true { return true }
    if hold?(envelope) == true {
      held.append(envelope)
      return true
    }
    deliver(envelope)
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

  /// Fires every armed batch timer.
  func fireTimers() {
    for r in configuration.replicas {
      for pillar in 0..<pillarCount where timerArmed[Int(r)][pillar] {
        timerArmed[Int(r)][pillar] = false
        input(.batchTimeout(pillar: pillar), at: r)
      }
    }
  }

  /// Runs the network and fires batch timers until nothing is left to do.
  func settle() {
    for _ in 0..<1_000 {
      run()
      guard timerArmed.joined().contains(true) else { return }
      fireTimers()
    }
  }

  func tick(_ r: ReplicaID) { input(.tick, at: r) }

  /// The replicas that are neither crashed nor silenced.
  var live: [ReplicaID] { configuration.replicas.filter { !crashed.contains($0) } }

  /// The global order numbers replica `r` delivered, in order.
  func deliveredOrders(_ r: ReplicaID) -> [OrderNumber] { delivered[Int(r)].map(\.order) }

  /// Messages sent so far, with their pillar, matching `filter`.
  func sentMessages(where filter: (PillarEnvelope) -> Bool) -> [PillarEnvelope] {
    sent.filter(filter)
  }

  /// A lane of client `client` whose requests pillar `pillar` orders (§5.3.1).
  func lane(of client: ClientID, orderedBy pillar: Int) -> UInt32 {
    (0..<UInt32(10_000)).first { layout.pillar(ofClient: client, lane: $0) == pillar }!
  }
}

/// Extracting messages from envelopes.
extension PillarEnvelope {
  var prepare: Prepare? { if case .prepare(let p) = message { p } else { nil } }
  var commit: Commit? { if case .commit(let c) = message { c } else { nil } }
  var checkpoint: CheckpointMessage? { if case .checkpoint(let c) = message { c } else { nil } }
  var viewChange: ViewChange? { if case .viewChange(let m) = message { m } else { nil } }
  var newView: NewView? { if case .newView(let m) = message { m } else { nil } }
}
