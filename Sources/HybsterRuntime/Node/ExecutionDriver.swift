import HybsterCore
import HybsterWire
import Logging
import NIOCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Hands work to the execution stage from another thread.
protocol ExecutionDriverHandle: AnyObject {
  /// Enqueues `work`; safe to call from any thread. One call is one thread hand-off.
  func submit(_ work: [ExecutionWork])
  /// Encodes the snapshot kept for `order`, if any, and calls `reply` on the
  /// execution loop with it and its checkpoint digest (state transfer, §5.2.2).
  func encodedSnapshot(
    order: OrderNumber, maxBytes: Int, reply: @escaping @Sendable (EncodedSnapshot?) -> Void)
  /// Installs a verified snapshot and calls `done` on the execution loop.
  func install(_ snapshot: CheckpointSnapshot, done: @escaping @Sendable (InstallResult) -> Void)
}

/// A snapshot encoded for state transfer, with the digest CHECKPOINTs carry.
struct EncodedSnapshot: Sendable {
  var bytes: ByteBuffer
  var digest: Digest
}

/// What installing a fetched snapshot did.
enum InstallResult: Sendable, Equatable {
  /// Installed; execution continues after the snapshot's order number.
  case installed
  /// The execution stage already executed beyond the snapshot: installing it would
  /// roll back state the ordering pillar has moved past. Not retried.
  case alreadyPast(lastExecuted: OrderNumber)
  /// The service refused the state (retried from another source).
  case failed(String)
}

/// The runtime shell around the ``HybsterCore/ExecutionStage`` and the
/// ``HybsterCore/PillarCoordinator`` (§5.2, §5.3: the execution stage delivers in
/// global order on its own thread). Confined to its own event loop, which also owns
/// every client connection: replies are written without changing threads, and
/// retransmitted requests are answered from the reply cache before they reach a
/// pillar. The coordinator's inputs for pillars cross to their threads in one hop
/// per pillar and turn.
final class ExecutionDriver<Service: ReplicatedService>: ExecutionDriverHandle, @unchecked Sendable
{
  let eventLoop: any EventLoop
  private var stage: ExecutionStage<Service>
  private let pillars: [OrderingDriver]
  private var coordinator: PillarCoordinator
  /// Copies of the pillars as they started, used only to check view-change parts
  /// (the checks depend on the configuration and the group key alone).
  private let validators: [OrderingPillar]
  private var outputs: [PillarCoordinator.Output] = []
  private var pillarInputs: [[PillarInput]]
  private let logger: Logger
  private var clients: [ClientID: any Channel] = [:]
  private var dirtyClients: [any Channel] = []
  private var replies: [Reply] = []
  private var lastView: View = 0
  private var flushBatcher: TurnBatcher!
  private var requestBatcher: TurnBatcher!
  /// Deliveries that arrived after a gap, waiting for the state that fills it.
  private var parked: [OrderNumber: (view: View, batch: Batch)] = [:]
  private let maxParked: Int
  private var stallReported = false
  private var encodedSnapshots: [OrderNumber: EncodedSnapshot] = [:]
  /// The last stable checkpoint: its snapshot stays on disk (``persistSnapshot(at:)``).
  private var stableOrder: OrderNumber = 0
  /// Where checkpoint snapshots are made durable (issue 12); `nil` without a data
  /// directory.
  private let snapshotStore: SnapshotStore?

  /// A driver for `stage` (restored from its last snapshot after a restart) and
  /// `coordinator` (restored with the pillars).
  init(
    stage: ExecutionStage<Service>, coordinator: PillarCoordinator, eventLoop: any EventLoop,
    pillars: [OrderingDriver], snapshotStore: SnapshotStore?, maxParked: Int, logger: Logger
  ) {
    self.maxParked = maxParked
    self.stage = stage
    self.eventLoop = eventLoop
    self.pillars = pillars
    self.snapshotStore = snapshotStore
    validators = pillars.map(\.pillar)
    self.coordinator = coordinator
    pillarInputs = Array(repeating: [], count: pillars.count)
    self.logger = logger
    let box = UnsafeTransfer(self)
    flushBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.flushClients() }
    requestBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.sendPillarInputs() }
  }

  /// After a restart (issue 12): votes again for the checkpoint the service state
  /// was restored from. The CHECKPOINTs of a whole-cluster restart were lost with
  /// the memory of every replica, and without f+1 of them the window never moves.
  func voteForRestoredCheckpoint() {
    let box = UnsafeTransfer(self)
    eventLoop.execute {
      let driver = box.value
      guard driver.stage.lastExecuted > 0,
        let snapshot = driver.stage.snapshots[driver.stage.lastExecuted]
      else { return }
      // On disk already: it was restored from there.
      driver.vote(for: [(snapshot.order, snapshot.digest)])
      driver.sendPillarInputs()
    }
  }

  func submit(_ work: [ExecutionWork]) {
    let box = UnsafeTransfer(self)
    eventLoop.execute { box.value.process(work) }
  }

  private func process(_ work: [ExecutionWork]) {
    outputs.removeAll(keepingCapacity: true)
    for item in work {
      switch item {
      case .pillarAction(let pillar, let action):
        coordinator.pillar(pillar, did: action, into: &outputs)
      case .viewChangePart(let pillar, let message, let sender):
        let validator = validators[pillar]
        if let rejection = coordinator.admit(
          message, from: sender, pillar: pillar,
          isValid: { validator.isValidViewChangePart($0) }, into: &outputs)
        {
          logger.notice("dropped view-change part from \(sender): \(rejection)")
        }
      case .stateTransferred(let order):
        coordinator.stateTransferred(order: order, executed: stage.replies, into: &outputs)
      }
    }
    var checkpoints: [(OrderNumber, Digest)] = []
    for output in outputs {
      switch output {
      case .pillar(let pillar, let input):
        pillarInputs[pillar].append(input)
      case .deliver(let order, let view, let batch):
        deliver(order: order, view: view, batch: batch, checkpoints: &checkpoints)
      case .checkpointStable(let order, let digest):
        stage.checkpointStable(at: order)
        stableOrder = max(stableOrder, order)
        encodedSnapshots = encodedSnapshots.filter { $0.key >= order }
        if stallReported, order > stage.lastExecuted {
          fetchState(order: order, stateDigest: digest, from: stableSources)
        }
      case .stateTransferNeeded(let order, let digest, let from):
        fetchState(order: order, stateDigest: digest, from: from)
      case .viewChangeStarted(let view):
        logger.warning("suspecting the leader: changing to view \(view)")
      case .viewInstalled(let view, let leader):
        logger.notice("view \(view) installed, leader \(leader)")
      }
    }
    report(checkpoints)
    sendPillarInputs()
  }

  /// The replicas that vouched for the stable checkpoint.
  private var stableSources: [ReplicaID] {
    coordinator.stable?.proof.map(\.replica).filter { $0 != stage.replica } ?? []
  }

  /// Asks pillar 0's driver, which owns state transfer, to fetch a stable checkpoint.
  private func fetchState(order: OrderNumber, stateDigest: Digest, from: [ReplicaID]) {
    let driver = UnsafeTransfer(pillars[0])
    driver.value.eventLoop.execute {
      driver.value.startStateTransfer(order: order, stateDigest: stateDigest, from: from)
    }
  }

  /// Hands the coordinator's inputs and client requests to their pillars, one hop
  /// per pillar.
  private func sendPillarInputs() {
    for pillar in pillarInputs.indices where !pillarInputs[pillar].isEmpty {
      let inputs = pillarInputs[pillar]
      pillarInputs[pillar].removeAll(keepingCapacity: true)
      let driver = UnsafeTransfer(pillars[pillar])
      driver.value.eventLoop.execute {
        for input in inputs { driver.value.handle(input) }
      }
    }
  }

  /// Executes in order without gaps. ``ExecutionStage/execute(order:view:batch:replies:)``
  /// requires `order == lastExecuted + 1`; here that is checked, not trapped on: an
  /// order already covered by an installed snapshot is skipped, and one after a gap
  /// is parked while the ordering side fetches the state that fills the gap (§5.2.2).
  private func deliver(
    order: OrderNumber, view: View, batch: Batch, checkpoints: inout [(OrderNumber, Digest)]
  ) {
    if order <= stage.lastExecuted { return }
    guard order == stage.lastExecuted + 1 else {
      if parked.count < maxParked {
        parked[order] = (view, batch)
      } else {
        logger.error("execution gap: dropped delivery \(order), \(parked.count) already parked")
      }
      reportStall()
      return
    }
    execute(order: order, view: view, batch: batch, checkpoints: &checkpoints)
    drainParked(checkpoints: &checkpoints)
  }

  private func execute(
    order: OrderNumber, view: View, batch: Batch, checkpoints: inout [(OrderNumber, Digest)]
  ) {
    lastView = view
    replies.removeAll(keepingCapacity: true)
    if let snapshot = stage.execute(order: order, view: view, batch: batch, replies: &replies) {
      checkpoints.append((snapshot.order, snapshot.digest))
    }
    for reply in replies { send(reply) }
  }

  private func drainParked(checkpoints: inout [(OrderNumber, Digest)]) {
    guard !parked.isEmpty else { return }
    parked = parked.filter { $0.key > stage.lastExecuted }
    while let next = parked.removeValue(forKey: stage.lastExecuted + 1) {
      execute(
        order: stage.lastExecuted + 1, view: next.view, batch: next.batch, checkpoints: &checkpoints
      )
    }
    if parked.isEmpty { stallReported = false }
  }

  private func reportStall() {
    guard !stallReported else { return }
    stallReported = true
    let last = stage.lastExecuted
    logger.error("execution gap after \(last): parking deliveries and requesting state")
    if let stable = coordinator.stable {
      let order = coordinator.layout.globalCheckpoint(ofLocal: stable.order)
      if order > last {
        fetchState(order: order, stateDigest: stable.stateDigest, from: stableSources)
      }
    }
  }

  func encodedSnapshot(
    order: OrderNumber, maxBytes: Int, reply: @escaping @Sendable (EncodedSnapshot?) -> Void
  ) {
    let box = UnsafeTransfer(self)
    eventLoop.execute {
      let driver = box.value
      if let cached = driver.encodedSnapshots[order] {
        reply(cached)
        return
      }
      guard let snapshot = driver.stage.snapshots[order] else {
        reply(nil)
        return
      }
      do {
        let encoded = EncodedSnapshot(
          bytes: try SnapshotCodec.encode(snapshot, maxBytes: maxBytes), digest: snapshot.digest)
        driver.encodedSnapshots[order] = encoded
        reply(encoded)
      } catch {
        driver.logger.error("cannot serve the state at \(order): \(error)")
        reply(nil)
      }
    }
  }

  func install(_ snapshot: CheckpointSnapshot, done: @escaping @Sendable (InstallResult) -> Void) {
    let box = UnsafeTransfer(self)
    eventLoop.execute { done(box.value.install(snapshot)) }
  }

  private func install(_ snapshot: CheckpointSnapshot) -> InstallResult {
    guard snapshot.order >= stage.lastExecuted else {
      return .alreadyPast(lastExecuted: stage.lastExecuted)
    }
    do {
      try stage.install(snapshot)
    } catch {
      return .failed("\(error)")
    }
    encodedSnapshots = [:]
    persistSnapshot(at: snapshot.order)
    var checkpoints: [(OrderNumber, Digest)] = []
    drainParked(checkpoints: &checkpoints)
    report(checkpoints)
    sendPillarInputs()
    if parked.isEmpty { stallReported = false }
    return .installed
  }

  /// Hands each checkpoint taken to the pillar whose turn it is (§5.3.2); the
  /// caller sends the inputs.
  private func report(_ checkpoints: [(OrderNumber, Digest)]) {
    for (order, _) in checkpoints { persistSnapshot(at: order) }
    vote(for: checkpoints)
  }

  /// Hands checkpoints whose snapshots are durable to the pillars whose turn it is;
  /// the caller sends the inputs.
  private func vote(for checkpoints: [(OrderNumber, Digest)]) {
    var taken: [PillarCoordinator.Output] = []
    for (order, digest) in checkpoints {
      coordinator.checkpointTaken(order: order, stateDigest: digest, into: &taken)
    }
    for case .pillar(let pillar, let input) in taken { pillarInputs[pillar].append(input) }
  }

  /// Makes the snapshot at `order` durable before its CHECKPOINT can leave (issue
  /// 12): a stable checkpoint then survives on f+1 disks. A replica that cannot
  /// write it stops with one clear message (its state is not durable).
  private func persistSnapshot(at order: OrderNumber) {
    guard let snapshotStore, let snapshot = stage.snapshots[order] else { return }
    do {
      let encoded = try SnapshotCodec.encode(snapshot)
      try snapshotStore.write(
        order: order, bytes: Array(encoded.readableBytesView), keepingFrom: stableOrder)
    } catch {
      logger.critical("cannot write the snapshot at \(order): \(error); stopping")
      exit(74)  // EX_IOERR
    }
  }

  /// A client connection said hello.
  func register(client: ClientID, channel: any Channel) {
    clients[client] = channel
  }

  /// A client connection closed.
  func unregister(client: ClientID, channel: any Channel) {
    if clients[client] === channel { clients[client] = nil }
  }

  /// A request from a client connection.
  func receive(_ request: Request) {
    let cached = stage.cachedReply(for: request, view: lastView)
    if let reply = cached.reply {
      send(reply)
      return
    }
    if cached.stale { return }
    let pillar = coordinator.layout.pillar(ofClient: request.client, lane: request.lane)
    pillarInputs[pillar].append(.request(request))
    requestBatcher.request()
  }

  private func send(_ reply: Reply) {
    guard let channel = clients[reply.client], channel.isWritable else { return }
    var buffer = channel.allocator.buffer(capacity: WireCodec.frameLength(of: .reply(reply)))
    WireCodec.encode(.reply(reply), into: &buffer)
    channel.write(buffer, promise: nil)
    dirtyClients.append(channel)
    flushBatcher.request()
  }

  private func flushClients() {
    for channel in dirtyClients { channel.flush() }
    dirtyClients.removeAll(keepingCapacity: true)
  }
}
