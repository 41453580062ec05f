/// Assembles the split view-change messages of §5.3.3: a replica with P pillars
/// sends VIEW-CHANGE, NEW-VIEW and NEW-VIEW-ACK as P parts, one per pillar, each
/// with only that pillar's PREPAREs and certified by that pillar's TrInX instance.
/// A receiver acts on such a message only once it holds all P valid parts; then
/// every part goes to its pillar at once. A replica thus leaves (or enters) a view
/// with all its pillars, never with some.
///
/// Parts are checked by the caller's validator before they are held, so an
/// invalid part never completes a message. Bounded: only views from one below the
/// view the replica is changing to up to ``viewsAhead`` beyond it are held, one part
/// per pillar, origin and kind, and beyond them the parts of the latest NEW-VIEW.
public struct ViewChangeGate: Sendable {
  /// Which split message a part belongs to.
  public enum Kind: UInt8, Hashable, Sendable {
    case viewChange, newView, newViewAck
  }

  struct Key: Hashable, Sendable {
    var kind: Kind
    var origin: ReplicaID
    var view: View
  }

  /// P.
  public let pillarCount: Int
  /// Parts received for views above this are held (the lowest view any pillar is in).
  public private(set) var floor: View = 0
  /// The view the replica is changing to (or its view, when it is not changing).
  public private(set) var target: View = 0
  private var parts: [Key: [Int: (message: ProtocolMessage, sender: ReplicaID)]] = [:]
  private var complete: Set<Key> = []
  /// Fingerprints of parts that failed their pillar's checks, so that a part sent
  /// again and again is refused without checking it again (issue 11: checking a
  /// NEW-VIEW part costs many MACs on the execution thread). Bounded.
  private var rejected: Set<Int> = []

  /// How many rejected parts are remembered.
  static let rejectedMemory = 1024

  /// How many views beyond the floor are held.
  public static let viewsAhead: View = 3

  /// A gate for `pillarCount` pillars.
  public init(pillarCount: Int) {
    self.pillarCount = pillarCount
  }

  /// The number of parts held (bounded).
  public var heldParts: Int { parts.values.reduce(0) { $0 + $1.count } }

  /// Whether `message` is one part of a split view-change message.
  public static func isSplit(_ message: ProtocolMessage) -> Bool { key(of: message) != nil }

  /// The kind, origin and view of a split message; nil for every other message.
  static func key(of message: ProtocolMessage) -> Key? {
    switch message {
    case .viewChange(let m): Key(kind: .viewChange, origin: m.replica, view: m.toView)
    // Only a pillar's leader of the view can issue its valid part (with rotating
    // leaders, different replicas for different pillars): one message per view.
    case .newView(let m): Key(kind: .newView, origin: 0, view: m.view)
    case .newViewAck(let m): Key(kind: .newViewAck, origin: m.replica, view: m.view)
    default: nil
    }
  }

  /// What the gate did with a part.
  public enum Verdict: Sendable {
    /// Pass these (pillar, message, sender) triples to their pillars now.
    case release([(pillar: Int, message: ProtocolMessage, sender: ReplicaID)])
    /// Held until the other parts arrive (or dropped as a duplicate or out of range).
    case held
    /// The part failed its pillar's checks.
    case invalid
  }

  /// Takes one part of a view-change message received by pillar `pillar` from
  /// `sender`. Messages that are not split, one-pillar groups, parts of a message
  /// already complete and stale views (which pillars only answer, never act on)
  /// pass at once.
  public mutating func admit(
    _ message: ProtocolMessage, from sender: ReplicaID, pillar: Int,
    isValid: (ProtocolMessage) -> Bool
  ) -> Verdict {
    guard pillarCount > 1, let key = Self.key(of: message), key.view > lowestHeld,
      !complete.contains(key),
      // A NEW-VIEW of a view the replica already left is only acknowledged, pillar
      // by pillar (§5.2.3 NEW-VIEW-ACK): each pillar vouches for its own part, as the
      // later new-view certificates of that pillar need.
      !(key.kind == .newView && key.view < target)
    else { return .release([(pillar, message, sender)]) }
    let ceiling = max(floor, target) + Self.viewsAhead
    if key.view > ceiling {
      // Far ahead: only a NEW-VIEW helps (a replica that fell views behind jumps to
      // the view the others are in), and only the latest one is held.
      guard key.kind == .newView,
        !parts.keys.contains(where: { $0.kind == .newView && $0.view > key.view })
      else { return .held }
      parts = parts.filter { $0.key.kind != .newView || $0.key.view <= ceiling || $0.key == key }
    }
    if parts[key]?[pillar] != nil { return .held }
    var hasher = Hasher()
    hasher.combine(pillar)
    hasher.combine(message)
    let fingerprint = hasher.finalize()
    guard !rejected.contains(fingerprint) else { return .invalid }
    guard isValid(message) else {
      if rejected.count >= Self.rejectedMemory { rejected.removeAll(keepingCapacity: true) }
      rejected.insert(fingerprint)
      return .invalid
    }
    parts[key, default: [:]][pillar] = (message, sender)
    guard parts[key]!.count == pillarCount else { return .held }
    let all = parts.removeValue(forKey: key)!.sorted { $0.key < $1.key }
    complete.insert(key)
    return .release(all.map { ($0.key, $0.value.message, $0.value.sender) })
  }

  /// Parts of views up to this one pass at once (pillars only answer them).
  var lowestHeld: View { max(floor, target > 1 ? target - 2 : 0) }

  /// Every pillar is in `view` or later: parts of views up to it are no longer held.
  public mutating func advance(to view: View) {
    guard view > floor else { return }
    floor = view
    prune()
  }

  /// The replica left its view for `view`: hold parts around it. (A view change that
  /// fails again and again moves the target, not the floor; the held views follow.)
  /// Returns the held NEW-VIEW parts of views before it: the pillars acknowledge them.
  public mutating func changing(to view: View) -> [(
    pillar: Int, message: ProtocolMessage, sender: ReplicaID
  )] {
    guard view > target else { return [] }
    target = view
    var released: [(pillar: Int, message: ProtocolMessage, sender: ReplicaID)] = []
    for (key, held) in parts where key.kind == .newView && key.view < view {
      released += held.sorted { $0.key < $1.key }.map {
        ($0.key, $0.value.message, $0.value.sender)
      }
      parts[key] = nil
    }
    prune()
    return released.sorted {
      ($0.message.newViewNumber, $0.pillar) < ($1.message.newViewNumber, $1.pillar)
    }
  }

  private mutating func prune() {
    let lowest = lowestHeld
    parts = parts.filter { $0.key.view > lowest }
    complete = complete.filter { $0.view > lowest }
  }
}

extension ProtocolMessage {
  /// The view of a NEW-VIEW (0 for any other message).
  fileprivate var newViewNumber: View {
    if case .newView(let m) = self { m.view } else { 0 }
  }
}
