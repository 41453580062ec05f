import HybsterCore
import HybsterWire
import Logging
import NIOCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The runtime shell around one ``HybsterCore/OrderingPillar``: feeds it inputs from
/// peers, clients and timers, and carries out its actions (§5.2). Confined to one
/// event loop, which also owns the connections to the same pillar of every other
/// replica, so protocol messages never change threads (§5.3: one thread per pillar).
/// What concerns all pillars (deliveries, checkpoints, view changes, gap filling)
/// goes to the ``HybsterCore/PillarCoordinator`` on the execution loop.
final class OrderingDriver {
  let eventLoop: any EventLoop
  var pillar: OrderingPillar
  /// This pillar's index.
  let index: Int
  var links: [ReplicaID: PeerLink] = [:]
  private var actions: [PillarAction] = []
  let logger: Logger
  let stateTransferOptions: StateTransferOptions
  /// The state transfer in progress, if any (§5.2.2).
  var stateTransfer: StateTransferSession?
  var stateTransferStarted: NIODeadline = .now()
  var installing = false
  /// The replica that served the last completed state transfer: asked first next
  /// time, so that a faulty replica does not hold up every transfer (issue 11).
  var preferredStateSource: ReplicaID?
  /// State being sent to peers, one stream per peer.
  var outgoingStates: [ReplicaID: OutgoingState] = [:]
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
  /// The pillar's journal (issue 12); `nil` without a data directory.
  var journal: PillarJournal?

  init(
    pillar: OrderingPillar, eventLoop: any EventLoop, timing: ClusterConfig.Timing,
    stateTransfer: StateTransferOptions, logger: Logger
  ) {
    self.stateTransferOptions = stateTransfer
    self.pillar = pillar
    self.index = pillar.pillar
    self.eventLoop = eventLoop
    self.timing = timing
    self.logger = logger
    let box = UnsafeTransfer(self)
    flushBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.flushLinks() }
    handOffBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.handOff() }
  }

  /// Connects to this pillar of every peer, starts the tick timer and carries out
  /// the pillar's first actions after a restart (``HybsterCore/OrderingPillar/resume(into:)``).
  func start(addresses: [ClusterConfig.ReplicaAddress], authentication: PeerAuthentication) {
    eventLoop.preconditionInEventLoop()
    defer {
      actions.removeAll(keepingCapacity: true)
      pillar.resume(into: &actions)
      for action in actions { perform(action) }
    }
    for address in addresses where address.id != pillar.replica {
      let link = PeerLink(
        peer: address.id, host: address.host, port: address.peerPort(pillar: index),
        authentication: authentication,
        sendBufferLimit: pillar.configuration.maxWindowBytes, eventLoop: eventLoop,
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
    counters.peerFramesDropped = links.values.reduce(0) { $0 + $1.dropped }
    for link in links.values { link.close() }
    links.removeAll()
  }

  /// A message from this pillar of a peer. Parts of split view-change messages go
  /// to the coordinator first, which passes them on once all parts are there (§5.3.3).
  func receive(_ message: ProtocolMessage, from peer: ReplicaID) {
    if pillar.configuration.pillarCount > 1, ViewChangeGate.isSplit(message) {
      submit(.viewChangePart(pillar: index, message, from: peer))
    } else {
      handle(.message(message, from: peer))
    }
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
    case .deliver:
      counters.delivered += 1
      submit(.pillarAction(pillar: index, action))
    case .checkpointStable, .stateTransferNeeded, .viewChangeStarted, .viewInstalled,
      .proposedThrough, .readyToLead, .newViewPart:
      submit(.pillarAction(pillar: index, action))
    case .armBatchTimer:
      let box = UnsafeTransfer(self)
      eventLoop.scheduleTask(in: .microseconds(Int64(timing.batchFlushMicroseconds))) {
        box.value.handle(.batchTimeout)
      }
    case .persist(let record):
      do {
        try journal?.append(record)
      } catch {
        stopForStorage(error)
      }
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

  /// Persist before send (issue 12): the records of this turn are made durable
  /// before any of its messages or deliveries leaves.
  private func syncJournal() {
    guard let journal, journal.pendingCount > 0 else { return }
    do {
      try journal.sync()
    } catch {
      stopForStorage(error)
    }
  }

  /// The journal cannot be written (disk full, permissions, I/O error): nothing of
  /// this turn may leave, and the replica cannot go on. One clear message, and the
  /// process exits; the storage engine left nothing half-written that a restart
  /// would take for valid.
  private func stopForStorage(_ error: StorageError) -> Never {
    logger.critical("cannot write the journal of pillar \(index): \(error); stopping")
    exit(74)  // EX_IOERR
  }

  private func flushLinks() {
    syncJournal()
    // Taken out before flushing: a flush may make a link writable at once, and a
    // bulk sender (state transfer) then writes and marks the link dirty again. That
    // mark must survive for the next turn, or the link is never flushed again.
    let links = dirtyLinks
    dirtyLinks.removeAll(keepingCapacity: true)
    for link in links { link.flush() }
  }

  /// Queues work for the execution loop, handed over once per event-loop turn.
  func submit(_ work: ExecutionWork) {
    executionWork.append(work)
    handOffBatcher.request()
  }

  private func handOff() {
    syncJournal()
    guard let execution, !executionWork.isEmpty else { return }
    let work = executionWork
    executionWork.removeAll(keepingCapacity: true)
    execution.submit(work)
  }
}

/// Work a pillar hands to the execution loop (its coordinator and stage), in order.
enum ExecutionWork: Sendable {
  /// A coordinated action of a pillar (see ``PillarCoordinator/isCoordinated(_:)``).
  case pillarAction(pillar: Int, PillarAction)
  /// A part of a split view-change message a pillar received (§5.3.3).
  case viewChangePart(pillar: Int, ProtocolMessage, from: ReplicaID)
  /// State transfer installed the checkpoint at global `order`.
  case stateTransferred(order: OrderNumber)
}

/// Counters a replica reports (and logs at shutdown).
struct RuntimeCounters: Sendable {
  var delivered = 0
  var rejected = 0
  var stateTransfersCompleted = 0
  /// Frames to peers dropped because a link was down or its send buffer full.
  var peerFramesDropped = 0

  static func + (a: Self, b: Self) -> Self {
    RuntimeCounters(
      delivered: a.delivered + b.delivered, rejected: a.rejected + b.rejected,
      stateTransfersCompleted: a.stateTransfersCompleted + b.stateTransfersCompleted,
      peerFramesDropped: a.peerFramesDropped + b.peerFramesDropped)
  }
}
