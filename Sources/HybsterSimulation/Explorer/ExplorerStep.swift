import HybsterCore

/// One transition of the explored system: a step of a replayable trace.
///
/// Steps name messages by ``MessageKey``, replicas by id and the Byzantine
/// replica's choices by their menu entry, so a printed counterexample can be
/// parsed back (``init(parsing:)``) and replayed against the same or a changed core.
public enum ExplorerStep: Sendable, Hashable, CustomStringConvertible {
  /// Client request `request` (0-based) arrives at correct replica `to`.
  case request(Int, to: ReplicaID)
  /// The network delivers the in-flight message `message` from `from` to pillar
  /// `pillar` of `to`.
  case deliver(MessageKey, from: ReplicaID, to: ReplicaID, pillar: Int)
  /// Replica `replica` ticks until it suspects the leader (or, changing views,
  /// moves on): a view-change timeout (§5.2.3).
  case timeout(ReplicaID)
  /// Pillar `pillar`'s batch timer of `replica` fires.
  case batchTimeout(ReplicaID, pillar: Int)
  /// Replica `replica` installs the stable checkpoint it needs (state transfer,
  /// §5.2.2).
  case stateTransfer(ReplicaID)
  /// The Byzantine replica makes a move from its menu (``ByzantineMove``).
  case byzantine(ByzantineMove)

  public var description: String {
    switch self {
    case .request(let i, let to): "request \(i) -> r\(to)"
    case .deliver(let key, let from, let to, let pillar):
      "deliver \(key) r\(from) -> r\(to) u\(pillar)"
    case .timeout(let r): "timeout r\(r)"
    case .batchTimeout(let r, let pillar): "batch-timeout r\(r) u\(pillar)"
    case .stateTransfer(let r): "state-transfer r\(r)"
    case .byzantine(let move): "byz \(move)"
    }
  }

  /// Parses ``description``.
  public init?(parsing line: String) {
    let words = line.split(separator: " ")
    guard let verb = words.first else { return nil }
    func replica(_ word: Substring) -> ReplicaID? {
      word.hasPrefix("r") ? ReplicaID(word.dropFirst()) : nil
    }
    switch verb {
    case "request":
      guard words.count == 4, let i = Int(words[1]), words[2] == "->", let to = replica(words[3])
      else { return nil }
      self = .request(i, to: to)
    case "deliver":
      // deliver KIND(fields…) rX -> rY uZ
      guard words.count >= 6 else { return nil }
      let keyText = words[1..<(words.count - 4)].joined(separator: " ")
      guard let key = MessageKey(parsing: keyText), let from = replica(words[words.count - 4]),
        words[words.count - 3] == "->", let to = replica(words[words.count - 2]),
        words[words.count - 1].hasPrefix("u"), let pillar = Int(words[words.count - 1].dropFirst())
      else { return nil }
      self = .deliver(key, from: from, to: to, pillar: pillar)
    case "timeout":
      guard words.count == 2, let r = replica(words[1]) else { return nil }
      self = .timeout(r)
    case "batch-timeout":
      guard words.count == 3, let r = replica(words[1]), words[2].hasPrefix("u"),
        let pillar = Int(words[2].dropFirst())
      else { return nil }
      self = .batchTimeout(r, pillar: pillar)
    case "state-transfer":
      guard words.count == 2, let r = replica(words[1]) else { return nil }
      self = .stateTransfer(r)
    case "byz":
      guard let move = ByzantineMove(parsing: words.dropFirst()) else { return nil }
      self = .byzantine(move)
    default:
      return nil
    }
  }
}

/// A move of the Byzantine replica, from a finite menu built only with its own
/// TrInX instances (DESIGN.md, "The adversary we defend against"): it certifies
/// whatever its counters allow, and it sends any valid message it holds.
///
/// `to` is the correct replica the message goes to at once (a Byzantine sender
/// chooses when to send, so its messages need no network), or nil to keep it (a
/// counter moved on "in private"; it may be sent later with ``send``).
public enum ByzantineMove: Sendable, Hashable, CustomStringConvertible {
  /// PREPARE [view|order] in pillar `pillar` for a view it leads.
  case prepare(pillar: Int, view: View, order: OrderNumber, batch: BatchChoice, to: ReplicaID?)
  /// COMMIT [view|order] for a valid PREPARE it holds.
  case commit(pillar: Int, view: View, order: OrderNumber, to: ReplicaID?)
  /// VIEW-CHANGE for `toView` claiming `fromView`, moving the counter on.
  case viewChange(
    pillar: Int, toView: View, fromView: View, prepares: PrepareChoice, checkpoint: Bool,
    to: ReplicaID?)
  /// NEW-VIEW-ACK for `view` (a trusted MAC; no counter moves).
  case acknowledge(pillar: Int, view: View, prepares: PrepareChoice, to: ReplicaID)
  /// CHECKPOINT at `order` with the `digest`-th state digest it saw for that order.
  case checkpoint(pillar: Int, order: OrderNumber, digest: Int, to: ReplicaID)
  /// Sends a message it holds (its own, or another replica's it received).
  case send(MessageKey, pillar: Int, to: ReplicaID)

  /// The batch of a Byzantine PREPARE.
  public enum BatchChoice: Sendable, Hashable {
    /// No requests.
    case empty
    /// The client request with this index.
    case request(Int)
    /// A request no client sent (its authenticator is garbage).
    case invented

    var text: String {
      switch self {
      case .empty: "empty"
      case .request(let i): "req\(i)"
      case .invented: "invented"
      }
    }

    init?(_ text: some StringProtocol) {
      switch text {
      case "empty": self = .empty
      case "invented": self = .invented
      default:
        guard text.hasPrefix("req"), let i = Int(text.dropFirst(3)) else { return nil }
        self = .request(i)
      }
    }
  }

  /// Which PREPAREs a VIEW-CHANGE or NEW-VIEW-ACK carries (per order number, the
  /// one of the highest view among those chosen).
  public enum PrepareChoice: String, Sendable, Hashable, CaseIterable {
    /// None.
    case none
    /// Its own certified PREPAREs.
    case own
    /// Valid PREPAREs of other replicas it received.
    case seen
    /// Both.
    case all
  }

  var pillar: Int {
    switch self {
    case .prepare(let u, _, _, _, _), .commit(let u, _, _, _), .viewChange(let u, _, _, _, _, _),
      .acknowledge(let u, _, _, _), .checkpoint(let u, _, _, _), .send(_, let u, _):
      u
    }
  }

  public var description: String {
    func target(_ to: ReplicaID?) -> String { to.map { "-> r\($0)" } ?? "keep" }
    switch self {
    case .prepare(let u, let v, let o, let batch, let to):
      return "prepare u\(u) v\(v) o\(o) \(batch.text) \(target(to))"
    case .commit(let u, let v, let o, let to):
      return "commit u\(u) v\(v) o\(o) \(target(to))"
    case .viewChange(let u, let toView, let fromView, let prepares, let checkpoint, let to):
      return
        "view-change u\(u) \(fromView)->\(toView) \(prepares.rawValue)"
        + " \(checkpoint ? "checkpoint" : "no-checkpoint") \(target(to))"
    case .acknowledge(let u, let v, let prepares, let to):
      return "ack u\(u) v\(v) \(prepares.rawValue) \(target(to))"
    case .checkpoint(let u, let o, let digest, let to):
      return "checkpoint u\(u) o\(o) d\(digest) \(target(to))"
    case .send(let key, let u, let to):
      return "send \(key) u\(u) \(target(to))"
    }
  }

  /// Parses ``description`` (without the leading "byz").
  init?(parsing words: ArraySlice<Substring>) {
    let words = Array(words)
    guard words.count >= 3 else { return nil }
    func number(_ word: Substring, _ prefix: String) -> UInt64? {
      word.hasPrefix(prefix) ? UInt64(word.dropFirst(prefix.count)) : nil
    }
    // The target is the last one or two words: "keep" or "-> rX".
    var to: ReplicaID?
    var body = words
    if words.last == "keep" {
      body.removeLast()
    } else if words.count >= 2, words[words.count - 2] == "->",
      let r = number(words[words.count - 1], "r")
    {
      to = ReplicaID(r)
      body.removeLast(2)
    } else {
      return nil
    }
    if body[0] == "send" {
      // send KIND(fields…) uZ: the key spans the words between "send" and "uZ".
      guard body.count >= 3, let to,
        let key = MessageKey(parsing: body[1..<(body.count - 1)].joined(separator: " ")),
        let pillar = number(body[body.count - 1], "u").map(Int.init)
      else { return nil }
      self = .send(key, pillar: pillar, to: to)
      return
    }
    guard body.count >= 2, let u = number(body[1], "u").map(Int.init) else { return nil }
    switch body[0] {
    case "prepare":
      guard body.count == 5, let v = number(body[2], "v"), let o = number(body[3], "o"),
        let batch = BatchChoice(body[4])
      else { return nil }
      self = .prepare(pillar: u, view: v, order: o, batch: batch, to: to)
    case "commit":
      guard body.count == 4, let v = number(body[2], "v"), let o = number(body[3], "o")
      else { return nil }
      self = .commit(pillar: u, view: v, order: o, to: to)
    case "view-change":
      let views = body.count == 5 ? body[2].split(separator: "-") : []
      guard views.count == 2, let from = UInt64(views[0]), views[1].hasPrefix(">"),
        let toView = UInt64(views[1].dropFirst()),
        let prepares = PrepareChoice(rawValue: String(body[3])),
        body[4] == "checkpoint" || body[4] == "no-checkpoint"
      else { return nil }
      self = .viewChange(
        pillar: u, toView: toView, fromView: from, prepares: prepares,
        checkpoint: body[4] == "checkpoint", to: to)
    case "ack":
      guard body.count == 4, let v = number(body[2], "v"),
        let prepares = PrepareChoice(rawValue: String(body[3])), let to
      else { return nil }
      self = .acknowledge(pillar: u, view: v, prepares: prepares, to: to)
    case "checkpoint":
      guard body.count == 4, let o = number(body[2], "o"), let d = number(body[3], "d"), let to
      else { return nil }
      self = .checkpoint(pillar: u, order: o, digest: Int(d), to: to)
    default:
      return nil
    }
  }
}
