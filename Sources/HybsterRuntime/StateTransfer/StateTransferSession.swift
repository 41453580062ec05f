import HybsterCore
import HybsterWire
import NIOCore

/// Why a state transfer dropped a chunk or gave up on a source (§5.2.2).
public enum StateTransferError: Error, Hashable, Sendable {
  /// The chunk came from a replica other than the one asked.
  case notFromSource(sender: ReplicaID, source: ReplicaID)
  /// The chunk belongs to another checkpoint (a stale answer).
  case otherCheckpoint(order: OrderNumber)
  /// The source claims another digest for the wanted checkpoint than f+1
  /// CHECKPOINTs agreed on.
  case otherDigest(claimed: Digest, expected: Digest)
  /// The announced snapshot size exceeds the cap; nothing was allocated for it.
  case totalTooLarge(total: UInt64, cap: Int)
  /// The announced size changed in the middle of a transfer.
  case totalChanged(announced: UInt64, now: UInt64)
  /// The chunk does not start where the previous one ended.
  case outOfOrder(expected: UInt64, got: UInt64)
  /// The chunk ends beyond the announced size.
  case beyondTotal(end: UInt64, total: UInt64)
  /// The reassembled bytes are not a snapshot.
  case malformed(WireError)
  /// The snapshot is of another order number than wanted.
  case wrongSnapshotOrder(OrderNumber)
  /// The reassembled snapshot's digest is not the stable checkpoint's: a wrong state.
  case digestMismatch(got: Digest, expected: Digest)
  /// The source sent nothing new for the timeout.
  case timedOut
  /// The source sends, but too slowly: `received` of `total` bytes when its time,
  /// the timeout plus one tick per ``StateTransferSession/minimumBytesPerTick``,
  /// ran out (a faulty source trickling a byte per timeout is not waited on).
  case tooSlow(received: UInt64, total: UInt64)
  /// The shell could not install the verified snapshot (the service refused it).
  case installFailed(String)
}

/// Fetches one stable checkpoint's state from the replicas that vouched for it
/// (§5.2.2: "state transfer"). A pure value: no I/O, no clock; the shell feeds it
/// chunks and ticks and sends a STATE-REQUEST to ``source`` whenever it says so.
///
/// Rules:
/// - One source at a time; chunks from anyone else are ignored.
/// - Chunks must arrive in order of offset, all for the wanted (order, digest), with
///   one announced total that is at most the cap. The cap is checked before a byte
///   is buffered, and the buffer only grows with bytes actually received.
/// - A source that breaks a rule, sends a wrong state, stays silent for
///   ``timeoutTicks`` ticks, or does not complete within ``timeoutTicks`` plus one
///   tick per ``minimumBytesPerTick`` of the announced size is replaced by the next
///   one, round robin; the transfer starts over from offset 0.
/// - The reassembled snapshot is returned only if its
///   ``HybsterCore/CheckpointSnapshot/digest`` equals the digest of the f+1 matching
///   CHECKPOINTs, so a Byzantine source cannot make a correct replica install a
///   wrong state.
public struct StateTransferSession: Sendable {
  /// What one chunk or tick did.
  public enum Outcome: Hashable, Sendable {
    /// The chunk was appended.
    case progress(received: UInt64, total: UInt64)
    /// The snapshot is complete and verified: install it.
    case complete(CheckpointSnapshot)
    /// The chunk was dropped without blaming the source (stale or not ours).
    case ignored(StateTransferError)
    /// The source misbehaved; ask `to` instead.
    case switchedSource(to: ReplicaID, because: StateTransferError)
  }

  /// The stable checkpoint's order number.
  public let order: OrderNumber
  /// The stable checkpoint's digest (f+1 matching CHECKPOINTs).
  public let stateDigest: Digest
  /// The largest encoded snapshot accepted.
  public let maxBytes: Int
  /// Ticks without a new byte before the source is replaced.
  public let timeoutTicks: Int
  /// The slowest a source may send once it announced the size: from its first
  /// chunk, it gets ``timeoutTicks`` plus one tick per this many bytes for the
  /// whole snapshot.
  public let minimumBytesPerTick: Int
  /// The replicas that vouched for the checkpoint, in the order they are tried.
  public let sources: [ReplicaID]
  private var sourceIndex: Int
  private var buffer = ByteBuffer()
  private var total: UInt64?
  private var idleTicks = 0
  private var sourceTicks = 0
  /// The number of sources asked so far, the first included.
  public private(set) var attempts = 1

  /// Starts a transfer; the first source is `sources[first % sources.count]`.
  /// - Precondition: `sources` is not empty, `timeoutTicks` and
  ///   `minimumBytesPerTick` are positive.
  public init(
    order: OrderNumber, stateDigest: Digest, sources: [ReplicaID], first: Int = 0,
    maxBytes: Int = SnapshotCodec.defaultMaxBytes, timeoutTicks: Int,
    minimumBytesPerTick: Int = 64 * 1024
  ) {
    precondition(!sources.isEmpty, "state transfer needs a source")
    precondition(timeoutTicks > 0, "timeoutTicks must be positive")
    precondition(minimumBytesPerTick > 0, "minimumBytesPerTick must be positive")
    self.minimumBytesPerTick = minimumBytesPerTick
    self.order = order
    self.stateDigest = stateDigest
    self.sources = sources
    self.sourceIndex = first % sources.count
    self.maxBytes = maxBytes
    self.timeoutTicks = timeoutTicks
  }

  /// The replica asked now.
  public var source: ReplicaID { sources[sourceIndex] }

  /// The bytes received from the current source.
  public var received: UInt64 { UInt64(buffer.readableBytes) }

  /// Handles one chunk from `sender`.
  public mutating func receive(_ chunk: StateChunk, from sender: ReplicaID) -> Outcome {
    guard sender == source else { return .ignored(.notFromSource(sender: sender, source: source)) }
    guard chunk.order == order else { return .ignored(.otherCheckpoint(order: chunk.order)) }
    guard chunk.stateDigest == stateDigest else {
      return switchSource(.otherDigest(claimed: chunk.stateDigest, expected: stateDigest))
    }
    let received = self.received
    if received == 0 && chunk.offset != 0 {
      // The tail of an answer to an earlier request of ours: not a fault.
      return .ignored(.outOfOrder(expected: 0, got: chunk.offset))
    }
    guard chunk.offset == received else {
      return switchSource(.outOfOrder(expected: received, got: chunk.offset))
    }
    if let total {
      guard chunk.totalBytes == total else {
        return switchSource(.totalChanged(announced: total, now: chunk.totalBytes))
      }
    } else {
      guard chunk.totalBytes <= UInt64(maxBytes) else {
        return switchSource(.totalTooLarge(total: chunk.totalBytes, cap: maxBytes))
      }
      total = chunk.totalBytes
      sourceTicks = 0  // the source's time for the whole snapshot starts now
    }
    let total = chunk.totalBytes
    let end = received + UInt64(chunk.bytes.count)
    guard end <= total else { return switchSource(.beyondTotal(end: end, total: total)) }
    if !chunk.bytes.isEmpty {
      idleTicks = 0
      buffer.writeBytes(chunk.bytes)
    }
    guard end == total else { return .progress(received: end, total: total) }
    let snapshot: CheckpointSnapshot
    do {
      snapshot = try SnapshotCodec.decode(buffer, maxBytes: maxBytes)
    } catch {
      return switchSource(.malformed(error))
    }
    guard snapshot.order == order else { return switchSource(.wrongSnapshotOrder(snapshot.order)) }
    let digest = snapshot.digest
    guard digest == stateDigest else {
      return switchSource(.digestMismatch(got: digest, expected: stateDigest))
    }
    return .complete(snapshot)
  }

  /// One tick passed. Returns the source to ask now if the current one timed out.
  public mutating func tick() -> ReplicaID? {
    idleTicks += 1
    sourceTicks += 1
    let reason: StateTransferError
    if idleTicks >= timeoutTicks {
      reason = .timedOut
    } else if let total, sourceTicks >= timeoutTicks + Int(total / UInt64(minimumBytesPerTick)) {
      reason = .tooSlow(received: received, total: total)
    } else {
      return nil
    }
    guard case .switchedSource(let next, _) = switchSource(reason) else { return nil }
    return next
  }

  /// Gives up on the current source for `reason` (also used by the shell when an
  /// install fails) and returns the next one, starting over from offset 0.
  public mutating func reject(_ reason: StateTransferError) -> ReplicaID {
    guard case .switchedSource(let next, _) = switchSource(reason) else { return source }
    return next
  }

  private mutating func switchSource(_ reason: StateTransferError) -> Outcome {
    sourceIndex = (sourceIndex + 1) % sources.count
    buffer = ByteBuffer()
    total = nil
    idleTicks = 0
    sourceTicks = 0
    attempts += 1
    return .switchedSource(to: source, because: reason)
  }
}
