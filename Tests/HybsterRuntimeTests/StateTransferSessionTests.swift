import HybsterCore
import HybsterRuntime
import HybsterWire
import NIOCore
import Testing

@Suite("State transfer session (§5.2.2)")
struct StateTransferSessionTests {
  static let snapshot = CheckpointSnapshot(
    order: 16, serviceState: Array(repeating: 7, count: 1000),
    replies: ReplyCache(entries: [LaneKey(client: 1, lane: 0): .init(sequence: 4, result: [9])]))
  static let encoded = Array(try! SnapshotCodec.encode(snapshot).readableBytesView)

  static func session(sources: [ReplicaID] = [1, 2], cap: Int = 1 << 20) -> StateTransferSession {
    StateTransferSession(
      order: snapshot.order, stateDigest: snapshot.digest, sources: sources, maxBytes: cap,
      timeoutTicks: 3)
  }

  /// `bytes` cut into chunks of `size`, as a responder sends them.
  static func chunks(
    _ bytes: [UInt8] = encoded, size: Int = 300, order: OrderNumber = 16,
    digest: Digest = snapshot.digest
  ) -> [StateChunk] {
    stride(from: 0, to: bytes.count, by: size).map {
      StateChunk(
        order: order, stateDigest: digest, totalBytes: UInt64(bytes.count), offset: UInt64($0),
        bytes: Array(bytes[$0..<min($0 + size, bytes.count)]))
    }
  }

  @Test("in-order chunks from the source reassemble into the verified snapshot")
  func happyPath() {
    var session = Self.session()
    #expect(session.source == 1)
    let chunks = Self.chunks()
    for chunk in chunks.dropLast() {
      guard case .progress = session.receive(chunk, from: 1) else {
        Issue.record("expected progress")
        return
      }
    }
    #expect(session.receive(chunks.last!, from: 1) == .complete(Self.snapshot))
  }

  @Test("chunks from another replica, or for another checkpoint, are ignored")
  func ignoresStrangers() {
    var session = Self.session()
    let chunk = Self.chunks()[0]
    #expect(session.receive(chunk, from: 2) == .ignored(.notFromSource(sender: 2, source: 1)))
    var stale = chunk
    stale.order = 8
    #expect(session.receive(stale, from: 1) == .ignored(.otherCheckpoint(order: 8)))
    #expect(session.received == 0)
    #expect(session.source == 1)
  }

  @Test("a gap or a repeated chunk switches the source and starts over")
  func outOfOrder() {
    var session = Self.session()
    let chunks = Self.chunks()
    _ = session.receive(chunks[0], from: 1)
    #expect(
      session.receive(chunks[2], from: 1)
        == .switchedSource(to: 2, because: .outOfOrder(expected: 300, got: 600)))
    #expect(session.received == 0)
    // A tail chunk of an earlier answer is stale, not a fault.
    #expect(session.receive(chunks[1], from: 2) == .ignored(.outOfOrder(expected: 0, got: 300)))
    #expect(
      session.receive(chunks[0], from: 2)
        == .progress(received: 300, total: UInt64(Self.encoded.count)))
    #expect(
      session.receive(chunks[0], from: 2)
        == .switchedSource(to: 1, because: .outOfOrder(expected: 300, got: 0)))
  }

  @Test("a total above the cap is refused before anything is buffered")
  func cap() {
    var session = Self.session(cap: 500)
    #expect(
      session.receive(Self.chunks()[0], from: 1)
        == .switchedSource(
          to: 2, because: .totalTooLarge(total: UInt64(Self.encoded.count), cap: 500)))
    #expect(session.received == 0)
  }

  @Test("a chunk past the announced size, or a changed size, switches the source")
  func announcedSize() {
    var session = Self.session()
    var chunk = Self.chunks()[0]
    chunk.totalBytes = 100
    #expect(
      session.receive(chunk, from: 1)
        == .switchedSource(to: 2, because: .beyondTotal(end: 300, total: 100)))
    let chunks = Self.chunks()
    _ = session.receive(chunks[0], from: 2)
    var changed = chunks[1]
    changed.totalBytes += 1
    #expect(
      session.receive(changed, from: 2)
        == .switchedSource(
          to: 1,
          because: .totalChanged(
            announced: UInt64(Self.encoded.count), now: UInt64(Self.encoded.count + 1))))
  }

  @Test("a Byzantine source's wrong state is rejected with a typed error and the next source tried")
  func wrongState() {
    var wrong = Self.snapshot
    wrong.serviceState[0] = 8
    let wrongBytes = Array(try! SnapshotCodec.encode(wrong).readableBytesView)
    var session = Self.session(sources: [2, 0, 1])
    var outcome = StateTransferSession.Outcome.ignored(.timedOut)
    for chunk in Self.chunks(wrongBytes) { outcome = session.receive(chunk, from: 2) }
    #expect(
      outcome
        == .switchedSource(
          to: 0, because: .digestMismatch(got: wrong.digest, expected: Self.snapshot.digest)))
    // A source that admits another digest up front is dropped at once.
    #expect(
      session.receive(Self.chunks(digest: wrong.digest)[0], from: 0)
        == .switchedSource(
          to: 1, because: .otherDigest(claimed: wrong.digest, expected: Self.snapshot.digest)))
    // Garbage that is no snapshot at all.
    let garbage: [UInt8] = [1, 2, 3]
    #expect(
      session.receive(
        StateChunk(
          order: 16, stateDigest: Self.snapshot.digest, totalBytes: 3, offset: 0, bytes: garbage),
        from: 1) == .switchedSource(to: 2, because: .malformed(.truncated(field: "snapshot.order")))
    )
    // The correct source still delivers.
    var last = StateTransferSession.Outcome.ignored(.timedOut)
    for chunk in Self.chunks() { last = session.receive(chunk, from: 2) }
    #expect(last == .complete(Self.snapshot))
    #expect(session.attempts == 4)
  }

  @Test("a snapshot of another order number with the right claim is rejected")
  func wrongOrderInside() {
    var other = Self.snapshot
    other.order = 24
    let bytes = Array(try! SnapshotCodec.encode(other).readableBytesView)
    var session = Self.session()
    var outcome = StateTransferSession.Outcome.ignored(.timedOut)
    for chunk in Self.chunks(bytes) { outcome = session.receive(chunk, from: 1) }
    #expect(outcome == .switchedSource(to: 2, because: .wrongSnapshotOrder(24)))
  }

  @Test("a silent source is replaced after the timeout; progress resets the timer")
  func timeout() {
    var session = Self.session()
    #expect(session.tick() == nil)
    #expect(session.tick() == nil)
    _ = session.receive(Self.chunks()[0], from: 1)
    #expect(session.tick() == nil)
    #expect(session.tick() == nil)
    #expect(session.tick() == 2)
    #expect(session.received == 0)
    #expect(session.tick() == nil)
    #expect(session.tick() == nil)
    #expect(session.tick() == 1)
    #expect(session.reject(.installFailed("test")) == 2)
  }

  /// Issue 11, item 6: a faulty source that sends one byte just before each timeout
  /// kept the idle timer from ever firing; a source now gets the timeout plus one
  /// tick per `minimumBytesPerTick` of the announced size for the whole snapshot.
  @Test("a source that trickles bytes is replaced; a source at the minimum rate is kept")
  func tricklingSourceIsReplaced() {
    let total = UInt64(Self.encoded.count)
    let budget = 3 + Int(total / 100)
    var session = StateTransferSession(
      order: Self.snapshot.order, stateDigest: Self.snapshot.digest, sources: [1, 2],
      timeoutTicks: 3, minimumBytesPerTick: 100)
    var next: ReplicaID?
    var ticks = 0
    for chunk in Self.chunks(size: 1) {
      _ = session.receive(chunk, from: 1)
      ticks += 1
      next = session.tick()
      if next != nil { break }
    }
    #expect(next == 2)
    #expect(ticks == budget)
    #expect(session.received == 0)
    // Replica 2 sends 100 bytes a tick: done within its time.
    var outcome: StateTransferSession.Outcome?
    for chunk in Self.chunks(size: 100) {
      outcome = session.receive(chunk, from: 2)
      #expect(session.tick() == nil)
    }
    #expect(outcome == .complete(Self.snapshot))
  }
}
