import HybsterCore
import HybsterWire
import Logging
import NIOCore

/// The runtime shell around one ``HybsterCore/OrderingPillar``: feeds it inputs from
/// peers, clients and timers, and carries out its actions (§5.2). Confined to one
/// event loop, which also owns every replica-to-replica connection, so protocol
/// messages never change threads.
final class OrderingDriver {
  let eventLoop: any EventLoop
  var pillar: OrderingPillar
  var links: [ReplicaID: PeerLink] = [:]
  private var actions: [PillarAction] = []
  let logger: Logger
  let stateTransferOptions: StateTransferOptions
  /// The state transfer in progress, if any (§5.2.2).
  var stateTransfer: StateTransferSession?
  var stateTransferStarted: NIODeadline = .now()
  var installing = false
  /// State being sent to peers, one stream per peer.
  var outgoingStates: [ReplicaID: OutgoingState] = [:]
  /// Set when the execution stage found a gap after this order number.
  var executionStalledAfter: OrderNumber?
  var onStateInstalled: (@Sendable (ReplicaNode.StateInstalled) -> Void)?
  private let timing: ClusterConfig.Timing
  private var flushBatcher: TurnBatcher!
  private var handOffBatcher: TurnBatcher!
  var dirtyLinks: [PeerLink] = []
  private var executionWork: [ExecutionWork] = []
  private var tickTask: RepeatedTask?
  /// Receives committed batches and stable checkpoints, on the execution loop.
  var execution: (any ExecutionDriverHandle)?
  var counters = RuntimeCounters()

  init(
    pillar: OrderingPillar, eventLoop: any EventLoop, timing: ClusterConfig.Timing,
    stateTransfer: StateTransferOptions, logger: Logger
  ) {
    self.stateTransferOptions = stateTransfer
    self.pillar = pillar
    self.eventLoop = eventLoop
    self.timing = timing
    self.logger = logger
    let box = UnsafeTransfer(self)
    flushBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.flushLinks() }
    handOffBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.handOff() }
  }

  /// Connects to every peer and starts the tick timer.
  func start(addresses: [ClusterConfig.ReplicaAddress]) {
    eventLoop.preconditionInEventLoop()
    for address in addresses where address.id != pillar.replica {
      let link = PeerLink(
        peer: address.id, address: address, own: pillar.replica, eventLoop: eventLoop,
        logger: logger)
      links[address.id] = link
      link.start()
    }
    let box = UnsafeTransfer(self)
    tickTask = eventLoop.scheduleRepeatedTask(
      initialDelay: .milliseconds(Int64(timing.tickMilliseconds)),
      delay: .milliseconds(Int64(timing.tickMilliseconds))
    ) { _ in box.value.tick() }
  }

  private func tick() {
    handle(.tick)
    tickStateTransfer()
  }

  /// Closes every link and stops timers.
  func stop() {
    eventLoop.preconditionInEventLoop()
    tickTask?.cancel()
    for link in links.values { link.close() }
    links.removeAll()
  }

  /// Feeds one input to the pillar and carries out the resulting actions.
  func handle(_ input: PillarInput) {
    actions.removeAll(keepingCapacity: true)
    pillar.handle(input, into: &actions)
    for action in actions { perform(action) }
  }

  private func perform(_ action: PillarAction) {
    switch action {
    case .send(let message, let peer):
      guard let link = links[peer] else { return }
      write(encode(message), to: link)
    case .broadcast(let message):
      let frame = encode(message)
      for link in links.values { write(frame, to: link) }
    case .deliver(let order, let view, let batch):
      counters.delivered += 1
      executionWork.append(.deliver(order: order, view: view, batch: batch))
      handOffBatcher.request()
    case .checkpointStable(let order, let digest):
      executionWork.append(.checkpointStable(order: order))
      handOffBatcher.request()
      if let stalled = executionStalledAfter, order > stalled, let stable = pillar.stableCheckpoint,
        stable.order == order
      {
        startStateTransfer(
          order: order, stateDigest: digest,
          from: stable.proof.map(\.replica).filter { $0 != pillar.replica })
      }
    case .stateTransferNeeded(let order, let digest, let from):
      counters.stateTransfersNeeded += 1
      startStateTransfer(order: order, stateDigest: digest, from: from)
    case .armBatchTimer:
      let box = UnsafeTransfer(self)
      eventLoop.scheduleTask(in: .microseconds(Int64(timing.batchFlushMicroseconds))) {
        box.value.handle(.batchTimeout)
      }
    case .viewChangeStarted(let view):
      counters.viewChanges += 1
      logger.warning("suspecting the leader: changing to view \(view)")
    case .viewInstalled(let view, let leader):
      logger.notice("view \(view) installed, leader \(leader)")
    case .rejected(let rejection):
      counters.rejected += 1
      if counters.rejected <= 20 || counters.rejected % 10_000 == 0 {
        logger.notice("dropped input: \(rejection) (\(counters.rejected) so far)")
      }
    }
  }

  private func encode(_ message: ProtocolMessage) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(
      capacity: WireCodec.frameLength(of: .protocolMessage(message)))
    WireCodec.encode(.protocolMessage(message), into: &buffer)
    return buffer
  }

  func write(_ frame: ByteBuffer, to link: PeerLink) {
    if link.write(frame) {
      dirtyLinks.append(link)
      flushBatcher.request()
    }
  }

  private func flushLinks() {
    for link in dirtyLinks { link.flush() }
    dirtyLinks.removeAll(keepingCapacity: true)
  }

  private func handOff() {
    guard let execution, !executionWork.isEmpty else { return }
    let work = executionWork
    executionWork.removeAll(keepingCapacity: true)
    execution.submit(work)
  }
}

/// Work the ordering side hands to the execution stage, in order.
enum ExecutionWork: Sendable {
  case deliver(order: OrderNumber, view: View, batch: Batch)
  case checkpointStable(order: OrderNumber)
}

/// Counters a replica reports (and logs at shutdown).
struct RuntimeCounters: Sendable {
  var delivered = 0
  var rejected = 0
  var stateTransfersNeeded = 0
  var viewChanges = 0
  var stateTransfersCompleted = 0
}
