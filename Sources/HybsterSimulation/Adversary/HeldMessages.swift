import HybsterCore

/// The messages the adversarial scheduler holds back (see ``HoldRule``). Each held
/// message is kept once (the network may drop duplicates), so the store is bounded
/// by the distinct messages sent, and held messages are not in any inbox.
struct HeldMessages: Sendable {
  struct Held: Hashable, Sendable {
    var from: ReplicaID
    var to: ReplicaID
    var message: ProtocolMessage
    var pillar: Int
  }

  let rules: [HoldRule]
  private var held: [[Held]]
  private var seen: [Set<Held>]
  /// Messages held so far (for the run's summary).
  private(set) var heldCount = 0

  init(rules: [HoldRule]) {
    self.rules = rules
    held = Array(repeating: [], count: rules.count)
    seen = Array(repeating: [], count: rules.count)
  }

  /// Holds the message if an active rule says so; returns whether it did.
  mutating func hold(
    _ message: ProtocolMessage, from: ReplicaID, to: ReplicaID, pillar: Int, at now: SimTime
  ) -> Bool {
    guard let i = rules.firstIndex(where: { $0.holds(message, from: from, to: to, at: now) })
    else { return false }
    let item = Held(from: from, to: to, message: message, pillar: pillar)
    if seen[i].insert(item).inserted {
      held[i].append(item)
      heldCount += 1
    }
    return true
  }

  /// Takes everything rule `i` held, in the order it was held.
  mutating func release(_ i: Int) -> [Held] {
    let out = held[i]
    held[i] = []
    seen[i] = []
    return out
  }

  /// Takes everything held by every rule.
  mutating func releaseAll() -> [Held] {
    rules.indices.flatMap { release($0) }
  }
}
