import HybsterCore

/// What happens at one instant of simulated time.
enum EventKind: Sendable {
  /// A replica-to-replica message arrives (lost if the receiver crashed since).
  case message(to: ReplicaID, from: ReplicaID, ProtocolMessage, pillar: Int, incarnation: UInt32)
  /// A client request arrives at a replica.
  case request(to: ReplicaID, Request, incarnation: UInt32)
  /// A reply arrives at its client.
  case reply(Reply)
  /// A replica's periodic tick (retransmission timer).
  case tick(ReplicaID)
  /// A replica's batch flush timer fires.
  case batchTimeout(ReplicaID, pillar: Int, incarnation: UInt32)
  /// The execution stage hands a checkpoint digest back to ordering.
  case checkpointTaken(ReplicaID, order: OrderNumber, digest: Digest, incarnation: UInt32)
  /// A replica behind its stable checkpoint fetches it from a peer that vouched for
  /// it (state transfer, §5.2.2), after the simulated transfer time.
  case stateTransfer(ReplicaID, incarnation: UInt32)
  /// A client lane's retransmission timer.
  case clientRetransmit(client: Int, lane: Int, sequence: UInt64)
  /// A client lane's think time is over: it submits its next operation.
  case clientNext(client: Int, lane: Int)
  /// The Byzantine client's next move (``ByzantineClient``).
  case byzantineClient
  case crash(ReplicaID)
  case restart(ReplicaID)
  case partitionStart(Int)
  case partitionEnd(Int)
  /// The end of the safety phase: heal everything.
  case heal
  /// Hold-back rule `i` ends: what it held is sent (see ``HoldRule``).
  case releaseHeld(Int)
  /// Periodic convergence check of the liveness phase.
  case livenessCheck
}

/// An event with its time and a sequence number that breaks ties
/// deterministically (first scheduled, first run).
struct Event: Sendable {
  var time: SimTime
  var sequence: UInt64
  var kind: EventKind

  func precedes(_ other: Event) -> Bool {
    time != other.time ? time < other.time : sequence < other.sequence
  }
}

/// A binary min-heap of events ordered by (time, sequence).
struct EventQueue: Sendable {
  private var heap: [Event] = []
  private var nextSequence: UInt64 = 0

  var count: Int { heap.count }
  var isEmpty: Bool { heap.isEmpty }

  mutating func schedule(_ kind: EventKind, at time: SimTime) {
    heap.append(Event(time: time, sequence: nextSequence, kind: kind))
    nextSequence += 1
    var child = heap.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard heap[child].precedes(heap[parent]) else { break }
      heap.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> Event? {
    guard !heap.isEmpty else { return nil }
    heap.swapAt(0, heap.count - 1)
    let first = heap.removeLast()
    var parent = 0
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var smallest = parent
      if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
      if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
      if smallest == parent { break }
      heap.swapAt(parent, smallest)
      parent = smallest
    }
    return first
  }
}
