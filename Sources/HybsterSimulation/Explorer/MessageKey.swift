import HybsterCore

/// A message named by its kind, origin and the numbers that identify it: how a
/// replayable trace names a message, so that a trace still replays when a change
/// of the core alters a message's contents (its PREPAREs, its certificate) but not
/// its identity.
public struct MessageKey: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// The message type.
  public enum Kind: String, Sendable, Hashable, Comparable, CaseIterable {
    case prepare = "PREPARE"
    case commit = "COMMIT"
    case checkpoint = "CHECKPOINT"
    case forward = "FORWARD"
    case status = "STATUS"
    case viewChange = "VIEW-CHANGE"
    case newView = "NEW-VIEW"
    case ack = "NEW-VIEW-ACK"

    public static func < (a: Kind, b: Kind) -> Bool {
      allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
  }

  /// The kind.
  public var kind: Kind
  /// The replica the message speaks for (PREPARE, NEW-VIEW, FORWARD, STATUS: its
  /// sender; the others name their replica).
  public var origin: ReplicaID
  /// The view (VIEW-CHANGE: toView; CHECKPOINT, FORWARD: 0).
  public var view: View
  /// The order number (VIEW-CHANGE: fromView; FORWARD: the request's lane).
  public var number: UInt64

  /// Names a message.
  public init(kind: Kind, origin: ReplicaID, view: View, number: UInt64) {
    self.kind = kind
    self.origin = origin
    self.view = view
    self.number = number
  }

  init(_ message: ProtocolMessage, sender: ReplicaID) {
    switch message {
    case .prepare(let m): self.init(kind: .prepare, origin: sender, view: m.view, number: m.order)
    case .commit(let m):
      self.init(kind: .commit, origin: m.replica, view: m.view, number: m.order)
    case .checkpoint(let m):
      self.init(kind: .checkpoint, origin: m.replica, view: 0, number: m.order)
    case .forwardedRequest(let m):
      self.init(kind: .forward, origin: sender, view: 0, number: UInt64(m.lane))
    case .status(let m):
      self.init(kind: .status, origin: m.replica, view: m.view, number: m.nextDelivery)
    case .viewChange(let m):
      self.init(kind: .viewChange, origin: m.replica, view: m.toView, number: m.fromView)
    case .newView(let m): self.init(kind: .newView, origin: sender, view: m.view, number: 0)
    case .newViewAck(let m):
      self.init(kind: .ack, origin: m.replica, view: m.view, number: 0)
    }
  }

  public static func < (a: MessageKey, b: MessageKey) -> Bool {
    (a.kind, a.origin, a.view, a.number) < (b.kind, b.origin, b.view, b.number)
  }

  public var description: String {
    switch kind {
    case .prepare: "PREPARE(r\(origin) v\(view) o\(number))"
    case .commit: "COMMIT(r\(origin) v\(view) o\(number))"
    case .checkpoint: "CHECKPOINT(r\(origin) o\(number))"
    case .forward: "FORWARD(r\(origin) lane\(number))"
    case .status: "STATUS(r\(origin) v\(view) next\(number))"
    case .viewChange: "VIEW-CHANGE(r\(origin) \(number)->\(view))"
    case .newView: "NEW-VIEW(r\(origin) v\(view))"
    case .ack: "NEW-VIEW-ACK(r\(origin) v\(view))"
    }
  }

  /// Parses ``description``.
  public init?(parsing string: String) {
    let text = Substring(string)
    guard let open = text.firstIndex(of: "("), text.last == ")",
      let kind = Kind(rawValue: String(text[..<open]))
    else { return nil }
    let fields = text[text.index(after: open)..<text.index(before: text.endIndex)]
      .split(separator: " ")
    guard let first = fields.first, first.hasPrefix("r"), let origin = ReplicaID(first.dropFirst())
    else { return nil }
    func number(_ field: Substring, prefix: String) -> UInt64? {
      field.hasPrefix(prefix) ? UInt64(field.dropFirst(prefix.count)) : nil
    }
    var view: View = 0
    var value: UInt64 = 0
    switch kind {
    case .prepare, .commit, .status:
      guard fields.count == 3, let v = number(fields[1], prefix: "v"),
        let o = number(fields[2], prefix: kind == .status ? "next" : "o")
      else { return nil }
      (view, value) = (v, o)
    case .checkpoint:
      guard fields.count == 2, let o = number(fields[1], prefix: "o") else { return nil }
      value = o
    case .forward:
      guard fields.count == 2, let lane = number(fields[1], prefix: "lane") else { return nil }
      value = lane
    case .viewChange:
      let views = fields.count == 2 ? fields[1].split(separator: "-") : []
      guard views.count == 2, let from = UInt64(views[0]), views[1].hasPrefix(">"),
        let to = UInt64(views[1].dropFirst())
      else { return nil }
      (view, value) = (to, from)
    case .newView, .ack:
      guard fields.count == 2, let v = number(fields[1], prefix: "v") else { return nil }
      view = v
    }
    self.init(kind: kind, origin: origin, view: view, number: value)
  }
}
