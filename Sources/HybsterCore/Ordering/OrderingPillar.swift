import DequeModule
import TrInX

/// One ordering pillar of a Hybster replica: the sequential protocol HybsterS
/// (§5.2.1 ordering, §5.2.2 checkpointing), as a pure state machine.
///
/// It does no I/O and reads no clock: every call takes one ``PillarInput`` and
/// appends ``PillarAction``s that the shell carries out in order. The same code runs
/// in the SwiftNIO runtime and in the deterministic simulator.
///
/// Rules it enforces:
/// - The leader of view v is v mod n. It assigns consecutive order numbers to
///   batches and certifies each PREPARE with τ(l, 𝔒, [v|o], –).
/// - A follower COMMITs PREPAREs in order of o, each with τ(r, 𝔒, [v|o], –), only
///   after checking the leader's certificate and its own tag in every request's
///   authenticator.
/// - f+1 matching votes (the PREPARE counts as the leader's) commit an instance;
///   committed batches are delivered in order of o without gaps.
/// - Every K order numbers a CHECKPOINT with a trusted MAC; f+1 matching ones make
///   it stable: the log is garbage collected and the window
///   (low, low + W] moves. Nothing outside the window is ever acted upon.
public struct OrderingPillar: Sendable {
  /// The group's protocol parameters.
  public let configuration: ProtocolConfiguration
  /// This replica.
  public let replica: ReplicaID
  /// This pillar's index u among the replica's P pillars (§5.3): it runs the
  /// instances of global order numbers o with (o − 1) mod P = u, numbered locally
  /// 1, 2, 3, … (see ``PillarLayout``). Order numbers inside a pillar are local.
  public let pillar: Int
  var trinx: TrInXInstance
  var clients: RequestAuthenticator

  /// The current view.
  public internal(set) var view: View = 0
  /// The low water mark: the order number of the last stable checkpoint.
  public internal(set) var lowWaterMark: OrderNumber = 0
  /// The first order number not yet delivered to execution.
  public internal(set) var nextDelivery: OrderNumber = 1
  /// The last order number this pillar may deliver: with several pillars, no more
  /// than a window beyond what the replica executed, so that a pillar that runs
  /// ahead of a lagging sibling does not pile up deliveries (§5.3.2: "to keep the
  /// pillars in step"). Unlimited with one pillar.
  public internal(set) var deliveryLimit: OrderNumber = .max

  var slots: [OrderNumber: Slot] = [:]
  /// Leader: the next order number to propose.
  var nextProposal: OrderNumber = 1
  /// A sibling pillar's leader proposed up to here, so this pillar's leader must
  /// propose (empty batches if it has no requests) at least up to it, or execution
  /// stalls (§5.3.1); a follower counts it as outstanding work (suspicion).
  var gapFillThrough: OrderNumber = 0
  /// The highest order number of a received PREPARE reported to the coordinator,
  /// so that siblings fill their gaps below it (§5.3.1).
  var reportedProposals: OrderNumber = 0
  /// Follower: the last order number acknowledged with a COMMIT in this view.
  var lastAcknowledged: OrderNumber = 0
  /// Leader: verified requests waiting for a proposal, with their digests.
  var pending: Deque<(request: Request, digest: Digest)> = []
  /// Requests pending or proposed but not yet delivered (duplicate suppression).
  var inFlightRequests: Set<RequestRef> = []
  var batchTimerArmed = false
  var checkpoints = CheckpointTracker()
  /// A checkpoint a sibling pillar made stable while this pillar had not yet
  /// delivered up to it, and the tick it arrived (see ``learnCheckpoint``).
  var learnedAhead: (checkpoint: StableCheckpoint, since: UInt64)?
  /// Retransmission bookkeeping.
  var ticks: UInt64 = 0
  var deliveredAtLastTick: OrderNumber = 1
  var lastAnsweredStatus: [ReplicaID: UInt64] = [:]
  /// View-change state (§5.2.3).
  var viewChange = ViewChangeState()

  /// Whether this pillar emits ``PillarAction/persist(_:)`` for its journal (issue
  /// 12): on wherever the shell keeps state across restarts.
  public var journaling = false
  /// Whether this pillar restarted from its counter's reservation alone, its
  /// damaged journal set aside (issue 12): as a leader it takes back its own
  /// PREPAREs relayed to it.
  var startedOver = false
  /// What the journal last recorded of the counter, views and checkpoint.
  var journalMarks = JournalMarks()

  /// Deliberate bugs for the simulator's self-test only; never set in production.
  public var injectedFaults: InjectedFaults = []

  /// The most requests a leader queues before it drops new ones (a bounded buffer).
  public var maxPendingRequests: Int { configuration.maxBatchSize * Int(configuration.windowSize) }

  /// Creates pillar `pillar` of `replica` with its own TrInX instance and its
  /// authenticator of client requests.
  public init(
    configuration: ProtocolConfiguration, replica: ReplicaID, pillar: Int = 0,
    trinx: TrInXInstance, clients: RequestAuthenticator
  ) {
    precondition(Int(replica) < configuration.replicaCount, "replica id out of range")
    precondition(pillar >= 0 && pillar < configuration.pillarCount, "pillar out of range")
    precondition(
      trinx.id == configuration.trinxInstance(of: replica, pillar: pillar),
      "TrInX instance is not the one the configuration assigns to this pillar")
    precondition(trinx.counterCount >= CounterLayout.count, "TrInX instance needs 2 counters")
    self.configuration = configuration
    self.replica = replica
    self.pillar = pillar
    self.trinx = trinx
    self.clients = clients
    if configuration.pillarCount > 1 { deliveryLimit = windowSize }
  }

  /// The checkpoint interval in local order numbers: K / P.
  public var checkpointInterval: UInt64 {
    configuration.checkpointInterval / UInt64(configuration.pillarCount)
  }

  /// The window in local order numbers: W / P.
  public var windowSize: UInt64 { configuration.windowSize / UInt64(configuration.pillarCount) }

  /// The high water mark: no instance above it is ever acted upon (§5.2.2).
  public var highWaterMark: OrderNumber { lowWaterMark + windowSize }

  /// The leader of the current view.
  public var leader: ReplicaID { leader(of: view) }

  /// The leader of this pillar in `view` (§5.2.1; rotating, §6.2).
  public func leader(of view: View) -> ReplicaID {
    configuration.leader(of: view, pillar: pillar)
  }

  /// Whether this replica leads the current view.
  public var isLeader: Bool { leader == replica }

  /// The number of instances kept in the log (bounded by the window size).
  public var logSize: Int { slots.count }

  /// The number of requests waiting for a proposal.
  public var pendingCount: Int { pending.count }

  /// Handles one input, appending the resulting actions to `actions`.
  public mutating func handle(_ input: PillarInput, into actions: inout [PillarAction]) {
    dispatch(input, into: &actions)
    if journaling { journalMarks(into: &actions) }
  }

  private mutating func dispatch(_ input: PillarInput, into actions: inout [PillarAction]) {
    switch input {
    case .request(let request):
      guard request.numbersInRange else {
        actions.append(.rejected(.numberOutOfRange(message: "REQUEST")))
        return
      }
      receiveRequest(request, forwarded: false, into: &actions)
    case .message(let message, let sender):
      guard configuration.replicas.contains(sender), sender != replica else {
        actions.append(.rejected(.unknownReplica(sender)))
        return
      }
      guard message.numbersInRange else {
        actions.append(.rejected(.numberOutOfRange(message: message.name)))
        return
      }
      switch message {
      case .prepare(let prepare): receivePrepare(prepare, from: sender, into: &actions)
      case .commit(let commit): receiveCommit(commit, from: sender, into: &actions)
      case .checkpoint(let checkpoint):
        receiveCheckpoint(checkpoint, from: sender, into: &actions)
      case .forwardedRequest(let request):
        receiveRequest(request, forwarded: true, into: &actions)
      case .status(let status): receiveStatus(status, from: sender, into: &actions)
      case .viewChange(let viewChange):
        receiveViewChange(viewChange, from: sender, into: &actions)
      case .newView(let newView): receiveNewView(newView, from: sender, into: &actions)
      case .newViewAck(let ack): receiveNewViewAck(ack, from: sender, into: &actions)
      }
    case .batchTimeout:
      batchTimerArmed = false
      propose(force: true, into: &actions)
    case .tick:
      tick(into: &actions)
    case .checkpointTaken(let order, let digest):
      takeCheckpoint(order: order, stateDigest: digest, into: &actions)
    case .stateTransferred(let order, let executed):
      stateTransferred(order: order, executed: executed, into: &actions)
    case .checkpointLearned(let checkpoint):
      learnCheckpoint(checkpoint, waitForDelivery: true, into: &actions)
    case .leaveView(let target, let checkpoint):
      if let checkpoint { learnCheckpoint(checkpoint, waitForDelivery: false, into: &actions) }
      startViewChange(to: target, into: &actions)
    case .ownNewView(let newView):
      receiveNewView(newView, from: replica, into: &actions)
    case .deliverThrough(let limit):
      guard limit > deliveryLimit else { return }
      deliveryLimit = limit
      deliverCommitted(into: &actions)
    case .lead(let target):
      guard viewChange.target == target else { return }
      viewChange.leadApproved = target
      tryToLead(into: &actions)
    case .fillGaps(let order):
      guard order > gapFillThrough else { return }
      gapFillThrough = order
      propose(force: false, into: &actions)
    }
  }

  /// Handles one input and returns the actions (convenience for tests).
  public mutating func handle(_ input: PillarInput) -> [PillarAction] {
    var actions: [PillarAction] = []
    handle(input, into: &actions)
    return actions
  }

  /// Whether `order` lies in the window (low, high].
  func inWindow(_ order: OrderNumber) -> Bool {
    order > lowWaterMark && order <= highWaterMark
  }
}

/// Identifies one request: a lane and a sequence number.
struct RequestRef: Hashable, Sendable {
  var lane: LaneKey
  var sequence: UInt64

  init(_ request: Request) {
    lane = request.key
    sequence = request.sequence
  }
}
