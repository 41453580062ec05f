import HybsterCore

/// One rule of the adversarial scheduler (DESIGN.md, "The adversary we defend
/// against"): before the network stabilises, partial synchrony lets it delay any
/// message for any finite time, so it holds back exactly the messages that hurt
/// most — every NEW-VIEW of several views, one replica's COMMITs, all checkpoints —
/// for many view-change timeouts (§5.2.3), then releases them.
public struct HoldRule: Sendable, Hashable, CustomStringConvertible {
  /// The kinds of message held.
  public var kinds: Set<MessageKind>
  /// Only messages from these senders (nil: from anyone).
  public var senders: Set<ReplicaID>?
  /// Only messages to these receivers (nil: to anyone).
  public var receivers: Set<ReplicaID>?
  /// Only messages of these views (nil: any view; messages without a view match).
  public var views: ClosedRange<View>?
  /// When holding starts.
  public var start: SimTime
  /// When the held messages are released (nil: when the network heals).
  public var end: SimTime?

  /// Creates a rule.
  public init(
    kinds: Set<MessageKind>, senders: Set<ReplicaID>? = nil, receivers: Set<ReplicaID>? = nil,
    views: ClosedRange<View>? = nil, start: SimTime = 0, end: SimTime? = nil
  ) {
    self.kinds = kinds
    self.senders = senders
    self.receivers = receivers
    self.views = views
    self.start = start
    self.end = end
  }

  /// Whether the rule holds `message` from `from` to `to` at `now` (before healing).
  func holds(_ message: ProtocolMessage, from: ReplicaID, to: ReplicaID, at now: SimTime) -> Bool {
    guard now >= start, end.map({ now < $0 }) ?? true, kinds.contains(MessageKind(message))
    else { return false }
    if let senders, !senders.contains(from) { return false }
    if let receivers, !receivers.contains(to) { return false }
    if let views, let view = message.adversaryView, !views.contains(view) { return false }
    return true
  }

  public var description: String {
    "hold " + kinds.sorted().map(\.rawValue).joined(separator: ",")
      + (senders.map { " from \($0.sorted())" } ?? "")
      + (receivers.map { " to \($0.sorted())" } ?? "")
      + (views.map { " views \($0.lowerBound)...\($0.upperBound)" } ?? "")
      + " during [\(start / 1000), " + (end.map { "\($0 / 1000)" } ?? "heal") + ") ms"
  }

  /// Draws a seed's rules from `random` (kinds restricted to `kinds` if given):
  /// often one that stalls ordering (COMMITs held, so that replicas suspect the
  /// leader), often one that makes view changes fail (NEW-VIEWs held, perhaps only of
  /// some views), and perhaps one more of any kind; each held for a few view-change
  /// timeouts or until the network heals, from some senders to some receivers.
  static func draw(
    _ random: inout SimulationRandom, replicas n: Int, timeout: SimTime, safety: SimTime,
    kinds allowed: Set<MessageKind>?
  ) -> [HoldRule] {
    let pool = allowed.map { Array($0).sorted() } ?? MessageKind.holdable
    guard !pool.isEmpty else { return [] }
    let all = Array(0..<ReplicaID(n))
    func some(_ random: inout SimulationRandom) -> Set<ReplicaID>? {
      random.chance(0.5) ? nil : Set(random.shuffled(all).prefix(random.int(1...(n - 1))))
    }
    var rules: [HoldRule] = []
    func add(_ wanted: [MessageKind], _ random: inout SimulationRandom) {
      var kinds = Set(wanted.filter { allowed?.contains($0) ?? true })
      if kinds.isEmpty || random.chance(0.3) { kinds.insert(random.pick(pool)) }
      var views: ClosedRange<View>?
      if random.chance(0.5) {
        // Often the first views in a row, so that a later view is the first to succeed.
        let low = random.chance(0.8) ? 1 : random.uint(0...4)
        views = low...(low + random.uint(1...4))
      }
      let start = random.uint(0...(2 * timeout))
      let end: SimTime? =
        random.chance(0.4) ? nil : start + timeout * random.uint(2...12)
      rules.append(
        HoldRule(
          kinds: kinds, senders: some(&random), receivers: some(&random), views: views,
          start: min(start, safety), end: end))
    }
    if random.chance(0.6) { add([.commit], &random) }
    if random.chance(0.8) { add([.newView], &random) }
    if rules.isEmpty || random.chance(0.5) { add([random.pick(pool)], &random) }
    return rules
  }
}
