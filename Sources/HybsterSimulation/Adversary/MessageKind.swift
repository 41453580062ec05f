import HybsterCore

/// The kind of a replica-to-replica message (§5.2), as the adversarial scheduler
/// selects what it holds back.
public enum MessageKind: String, Sendable, Hashable, CaseIterable, Comparable {
  case prepare, commit, checkpoint, forwardedRequest, status, viewChange, newView, newViewAck

  /// The kind of `message`.
  public init(_ message: ProtocolMessage) {
    switch message {
    case .prepare: self = .prepare
    case .commit: self = .commit
    case .checkpoint: self = .checkpoint
    case .forwardedRequest: self = .forwardedRequest
    case .status: self = .status
    case .viewChange: self = .viewChange
    case .newView: self = .newView
    case .newViewAck: self = .newViewAck
    }
  }

  /// The kinds an adversarial scheduler picks by default: the messages that end a
  /// view change or make progress visible (DESIGN.md, "The adversary we defend
  /// against": every NEW-VIEW for several views, one replica's COMMITs, all checkpoints).
  public static let holdable: [MessageKind] = [
    .newView, .commit, .checkpoint, .viewChange, .newViewAck,
  ]

  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

extension ProtocolMessage {
  /// The view a message belongs to (a VIEW-CHANGE's target view); nil for messages
  /// without one.
  var adversaryView: View? {
    switch self {
    case .prepare(let p): p.view
    case .commit(let c): c.view
    case .viewChange(let v): v.toView
    case .newView(let v): v.view
    case .newViewAck(let a): a.view
    case .status(let s): s.view
    case .checkpoint, .forwardedRequest: nil
    }
  }
}
