import HybsterCore
import HybsterWire
import NIOCore

/// Knobs of the runtime's state transfer (§5.2.2).
public struct StateTransferOptions: Hashable, Sendable {
  /// The bytes of state per STATE-CHUNK.
  public var chunkBytes: Int
  /// The largest encoded snapshot a replica accepts or sends.
  public var maxSnapshotBytes: Int
  /// Ticks without progress before the next source is asked.
  public var timeoutTicks: Int
  /// The most chunks written to one peer per event-loop turn.
  public var chunksPerTurn: Int

  /// Creates options; the defaults are 256 KiB chunks, a 256 MiB cap, 40 ticks
  /// (2 s at the default 50 ms tick) and 4 chunks per turn.
  public init(
    chunkBytes: Int = 256 * 1024, maxSnapshotBytes: Int = SnapshotCodec.defaultMaxBytes,
    timeoutTicks: Int = 40, chunksPerTurn: Int = 4
  ) {
    precondition(chunkBytes > 0 && chunkBytes <= WireLimits.defaultMaxPayloadBytes)
    precondition(maxSnapshotBytes > 0 && timeoutTicks > 0 && chunksPerTurn > 0)
    self.chunkBytes = chunkBytes
    self.maxSnapshotBytes = maxSnapshotBytes
    self.timeoutTicks = timeoutTicks
    self.chunksPerTurn = chunksPerTurn
  }
}

/// The state one peer asked for, being written to it a piece at a time.
struct OutgoingState {
  var order: OrderNumber
  var snapshot: EncodedSnapshot
  var offset = 0
}

/// State transfer (§5.2.2) in the ordering driver. The requesting side runs a
/// ``StateTransferSession`` on the ordering loop, installs the verified snapshot on
/// the execution loop and then tells the coordinator (`.stateTransferred`), which
/// tells every pillar; only then do they resume delivery after the snapshot's order
/// number. With several pillars, pillar 0's driver and links carry state transfer. The serving side reads
/// the snapshot on the execution loop and writes it back on the ordering loop, at
/// most ``StateTransferOptions/chunksPerTurn`` chunks per turn and only while the
/// peer connection is writable, so a 256 MiB state is never queued at once.
extension OrderingDriver {
  // MARK: Requesting

  func startStateTransfer(order: OrderNumber, stateDigest: Digest, from: [ReplicaID]) {
    if let current = stateTransfer, current.order >= order { return }
    let sources = from.filter { $0 != pillar.replica }
    guard !sources.isEmpty else {
      logger.error("behind stable checkpoint \(order) but no replica to fetch it from")
      return
    }
    let session = StateTransferSession(
      order: order, stateDigest: stateDigest, sources: sources,
      first: preferredStateSource.flatMap { sources.firstIndex(of: $0) }
        ?? Int(pillar.replica) % sources.count,
      maxBytes: stateTransferOptions.maxSnapshotBytes,
      timeoutTicks: stateTransferOptions.timeoutTicks)
    stateTransfer = session
    stateTransferStarted = .now()
    installing = false
    logger.notice("behind stable checkpoint \(order): fetching its state from \(session.source)")
    requestState(from: session.source, order: order)
  }

  private func requestState(from source: ReplicaID, order: OrderNumber) {
    guard let link = links[source] else { return }
    let message = WireMessage.stateRequest(StateRequest(replica: pillar.replica, order: order))
    var buffer = ByteBufferAllocator().buffer(capacity: WireCodec.frameLength(of: message))
    WireCodec.encode(message, into: &buffer)
    write(buffer, to: link)
  }

  func tickStateTransfer() {
    for peer in Array(outgoingStates.keys) { pumpState(to: peer) }
    guard !installing, var session = stateTransfer else { return }
    let next = session.tick()
    stateTransfer = session
    if let next {
      logger.notice("state transfer of \(session.order): no progress, asking \(next)")
      requestState(from: next, order: session.order)
    }
  }

  func receiveStateChunk(_ chunk: StateChunk, from peer: ReplicaID) {
    guard !installing, var session = stateTransfer else { return }
    let outcome = session.receive(chunk, from: peer)
    stateTransfer = session
    switch outcome {
    case .progress, .ignored:
      break
    case .switchedSource(let next, let reason):
      counters.rejected += 1
      logger.notice(
        "state transfer of \(session.order) from \(peer) failed (\(reason)); asking \(next)")
      requestState(from: next, order: session.order)
    case .complete(let snapshot):
      installing = true
      install(snapshot, bytes: session.received)
    }
  }

  private func install(_ snapshot: CheckpointSnapshot, bytes: UInt64) {
    guard let execution else { return }
    let box = UnsafeTransfer(self)
    let loop = eventLoop
    execution.install(snapshot) { result in
      loop.execute { box.value.installed(snapshot.order, bytes: bytes, result: result) }
    }
  }

  private func installed(_ order: OrderNumber, bytes: UInt64, result: InstallResult) {
    guard var session = stateTransfer, session.order == order else {
      // A newer transfer started meanwhile; the pillar ignores an outdated report.
      if result == .installed { submit(.stateTransferred(order: order)) }
      return
    }
    installing = false
    switch result {
    case .installed:
      stateTransfer = nil
      preferredStateSource = session.source
      counters.stateTransfersCompleted += 1
      let elapsed = (NIODeadline.now() - stateTransferStarted).nanoseconds / 1_000_000
      logger.notice(
        "installed the state at \(order) (\(bytes) bytes from \(session.source), \(session.attempts) attempt(s), \(elapsed) ms)"
      )
      submit(.stateTransferred(order: order))
      onStateInstalled?(
        ReplicaNode.StateInstalled(
          order: order, bytes: bytes, milliseconds: elapsed, attempts: session.attempts))
    case .alreadyPast(let lastExecuted):
      stateTransfer = nil
      logger.error(
        "stable checkpoint \(order) disagrees with this replica's own, but execution is already at \(lastExecuted): not rolling back"
      )
    case .failed(let reason):
      let next = session.reject(.installFailed(reason))
      stateTransfer = session
      logger.error("installing the state at \(order) failed (\(reason)); asking \(next)")
      requestState(from: next, order: order)
    }
  }

  // MARK: Serving

  func receiveStateRequest(_ request: StateRequest, from peer: ReplicaID) {
    guard request.replica == peer, let execution else { return }
    let box = UnsafeTransfer(self)
    let loop = eventLoop
    execution.encodedSnapshot(order: request.order, maxBytes: stateTransferOptions.maxSnapshotBytes)
    { snapshot in
      loop.execute { box.value.serve(snapshot, order: request.order, to: peer) }
    }
  }

  private func serve(_ snapshot: EncodedSnapshot?, order: OrderNumber, to peer: ReplicaID) {
    guard let snapshot else {
      logger.notice("replica \(peer) asked for the state at \(order), which is not kept here")
      return
    }
    guard let link = links[peer] else { return }
    // A new request restarts the answer: the requester starts over from offset 0.
    outgoingStates[peer] = OutgoingState(order: order, snapshot: snapshot)
    let box = UnsafeTransfer(self)
    link.onWritable = { box.value.pumpState(to: peer) }
    pumpState(to: peer)
  }

  func pumpState(to peer: ReplicaID) {
    guard var state = outgoingStates[peer], let link = links[peer] else { return }
    let total = state.snapshot.bytes.readableBytes
    var written = 0
    while state.offset < total, written < stateTransferOptions.chunksPerTurn, link.isWritable {
      let length = min(stateTransferOptions.chunkBytes, total - state.offset)
      let bytes = state.snapshot.bytes.getBytes(
        at: state.snapshot.bytes.readerIndex + state.offset, length: length)!
      let message = WireMessage.stateChunk(
        StateChunk(
          order: state.order, stateDigest: state.snapshot.digest, totalBytes: UInt64(total),
          offset: UInt64(state.offset), bytes: bytes))
      var buffer = ByteBufferAllocator().buffer(capacity: WireCodec.frameLength(of: message))
      WireCodec.encode(message, into: &buffer)
      write(buffer, to: link)
      state.offset += length
      written += 1
    }
    guard state.offset < total else {
      outgoingStates[peer] = nil
      link.onWritable = nil
      return
    }
    outgoingStates[peer] = state
    if link.isWritable {
      // The per-turn budget is spent: go on next turn, after other work.
      let box = UnsafeTransfer(self)
      eventLoop.execute { box.value.pumpState(to: peer) }
    }
    // Otherwise `onWritable` (or the next tick) resumes.
  }
}
