/// One replica's ordering: P ``OrderingPillar``s and their ``PillarCoordinator``,
/// driven inline on one thread (§5.3). The simulator, the core tests and
/// `hybster core-bench` use it; the runtime runs the same pillars and coordinator
/// on separate threads instead.
///
/// Messages between replicas travel between equal pillars (pillar u of one replica
/// to pillar u of another), so inputs and actions name the pillar.
public struct ReplicaPillars: Sendable {
  /// What drives a replica's pillars.
  public enum Input: Sendable {
    /// A client request; it goes to the pillar ``PillarLayout/pillar(ofClient:lane:)``.
    case request(Request)
    /// A message that pillar `pillar` of `from` sent to our pillar `pillar`.
    case message(ProtocolMessage, from: ReplicaID, pillar: Int)
    /// Pillar `pillar`'s batch timer fired.
    case batchTimeout(pillar: Int)
    /// A tick for every pillar.
    case tick
    /// The execution stage took the checkpoint at global `order`.
    case checkpointTaken(order: OrderNumber, stateDigest: Digest)
    /// The execution stage installed the stable checkpoint at global `order`;
    /// `executed` is its reply vector after the install.
    case stateTransferred(order: OrderNumber, executed: ReplyCache)
  }

  /// What the shell carries out, in order.
  public enum Action: Sendable, Equatable {
    /// Send from our pillar `pillar` to that pillar of `to`.
    case send(ProtocolMessage, to: ReplicaID, pillar: Int)
    /// Send from our pillar `pillar` to that pillar of every other replica.
    case broadcast(ProtocolMessage, pillar: Int)
    /// Execute the batch at global `order` (strictly increasing, gap-free).
    case deliver(order: OrderNumber, view: View, batch: Batch)
    /// The checkpoint at global `order` is stable.
    case checkpointStable(order: OrderNumber, stateDigest: Digest)
    /// Fetch the stable checkpoint at global `order`.
    case stateTransferNeeded(order: OrderNumber, stateDigest: Digest, from: [ReplicaID])
    /// The replica left its view.
    case viewChangeStarted(view: View)
    /// Every pillar installed `view`.
    case viewInstalled(view: View, leader: ReplicaID)
    /// Arm pillar `pillar`'s batch timer.
    case armBatchTimer(pillar: Int)
    /// Make pillar `pillar`'s journal record durable before any message or delivery
    /// of this call leaves (issue 12).
    case persist(PillarRecord, pillar: Int)
    /// Pillar `pillar` dropped an input.
    case rejected(Rejection, pillar: Int)
  }

  /// The pillars, indexed by pillar number.
  public var pillars: [OrderingPillar]
  /// The replica-wide rules between them.
  public var coordinator: PillarCoordinator

  /// Wraps `pillars` (pillar u at index u, all of one replica).
  public init(pillars: [OrderingPillar]) {
    precondition(!pillars.isEmpty, "at least one pillar")
    precondition(pillars.enumerated().allSatisfy { $0.offset == $0.element.pillar })
    precondition(pillars.count == pillars[0].configuration.pillarCount)
    self.pillars = pillars
    coordinator = PillarCoordinator(
      configuration: pillars[0].configuration, replica: pillars[0].replica)
  }

  /// Restarts a replica's pillars from their journals (issue 12); `pillars` are
  /// built with ``OrderingPillar/init(recovering:configuration:replica:pillar:trinx:clients:executedThrough:)``
  /// and `executedThrough` is the global checkpoint of the restored service state (or
  /// 0). Carry out ``resume()`` next.
  public init(restored pillars: [OrderingPillar], executedThrough: OrderNumber) {
    self.init(pillars: pillars)
    coordinator = PillarCoordinator(
      configuration: pillars[0].configuration, replica: pillars[0].replica,
      executedThrough: executedThrough, restored: pillars)
  }

  /// The first actions of restarted pillars (``OrderingPillar/resume(into:)``).
  public mutating func resume() -> [Action] {
    var outputs: [PillarCoordinator.Output] = []
    var actions: [Action] = []
    for pillar in pillars.indices {
      var pillarActions: [PillarAction] = []
      pillars[pillar].resume(into: &pillarActions)
      route(pillarActions, of: pillar, into: &actions, coordinated: &outputs)
    }
    carryOut(outputs, into: &actions)
    return actions
  }

  /// The group configuration.
  public var configuration: ProtocolConfiguration { coordinator.configuration }

  /// The view every pillar installed.
  public var view: View { pillars.map(\.view).min()! }

  /// The latest stable checkpoint, at its global order number.
  public var stableCheckpoint:
    (order: OrderNumber, stateDigest: Digest, proof: [CheckpointMessage])?
  {
    pillars.compactMap(\.stableCheckpoint).max { $0.order < $1.order }.map {
      (configuration.layout.globalCheckpoint(ofLocal: $0.order), $0.stateDigest, $0.proof)
    }
  }

  /// The next global order number execution waits for.
  public var nextExecution: OrderNumber { coordinator.nextExecution }

  /// Handles one input, appending the resulting actions to `actions`.
  public mutating func handle(_ input: Input, into actions: inout [Action]) {
    var outputs: [PillarCoordinator.Output] = []
    switch input {
    case .request(let request):
      let pillar = configuration.layout.pillar(ofClient: request.client, lane: request.lane)
      outputs.append(.pillar(pillar, .request(request)))
    case .message(let message, let sender, let pillar):
      guard pillar >= 0, pillar < pillars.count else { return }
      if ViewChangeGate.isSplit(message) {
        let validator = pillars[pillar]
        if let rejection = coordinator.admit(
          message, from: sender, pillar: pillar,
          isValid: { validator.isValidViewChangePart($0) }, into: &outputs)
        {
          actions.append(.rejected(rejection, pillar: pillar))
        }
      } else {
        outputs.append(.pillar(pillar, .message(message, from: sender)))
      }
    case .batchTimeout(let pillar):
      outputs.append(.pillar(pillar, .batchTimeout))
    case .tick:
      for pillar in pillars.indices { outputs.append(.pillar(pillar, .tick)) }
    case .checkpointTaken(let order, let digest):
      coordinator.checkpointTaken(order: order, stateDigest: digest, into: &outputs)
    case .stateTransferred(let order, let executed):
      coordinator.stateTransferred(order: order, executed: executed, into: &outputs)
    }
    carryOut(outputs, into: &actions)
  }

  /// Handles one input and returns the actions (convenience for tests).
  public mutating func handle(_ input: Input) -> [Action] {
    var actions: [Action] = []
    handle(input, into: &actions)
    return actions
  }

  /// Turns pillar `pillar`'s actions into the shell's, passing coordinated ones to
  /// the coordinator.
  private mutating func route(
    _ pillarActions: [PillarAction], of pillar: Int, into actions: inout [Action],
    coordinated more: inout [PillarCoordinator.Output]
  ) {
    for action in pillarActions {
      switch action {
      case .send(let message, let to): actions.append(.send(message, to: to, pillar: pillar))
      case .broadcast(let message): actions.append(.broadcast(message, pillar: pillar))
      case .armBatchTimer: actions.append(.armBatchTimer(pillar: pillar))
      case .persist(let record): actions.append(.persist(record, pillar: pillar))
      case .rejected(let rejection): actions.append(.rejected(rejection, pillar: pillar))
      case .deliver, .checkpointStable, .stateTransferNeeded, .viewChangeStarted,
        .viewInstalled, .proposedThrough, .readyToLead, .newViewPart:
        coordinator.pillar(pillar, did: action, into: &more)
      }
    }
  }

  private mutating func carryOut(
    _ outputs: [PillarCoordinator.Output], into actions: inout [Action]
  ) {
    var work = outputs[...]
    var pillarActions: [PillarAction] = []
    while let output = work.popFirst() {
      switch output {
      case .pillar(let pillar, let input):
        pillarActions.removeAll(keepingCapacity: true)
        pillars[pillar].handle(input, into: &pillarActions)
        var more: [PillarCoordinator.Output] = []
        route(pillarActions, of: pillar, into: &actions, coordinated: &more)
        work.append(contentsOf: more)
      case .deliver(let order, let view, let batch):
        actions.append(.deliver(order: order, view: view, batch: batch))
      case .checkpointStable(let order, let digest):
        actions.append(.checkpointStable(order: order, stateDigest: digest))
      case .stateTransferNeeded(let order, let digest, let from):
        actions.append(.stateTransferNeeded(order: order, stateDigest: digest, from: from))
      case .viewChangeStarted(let view): actions.append(.viewChangeStarted(view: view))
      case .viewInstalled(let view, let leader):
        actions.append(.viewInstalled(view: view, leader: leader))
      }
    }
  }
}
