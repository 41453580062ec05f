/// Every message replicas exchange among themselves (§5.2).
public enum ProtocolMessage: Hashable, Sendable {
  case prepare(Prepare)
  case commit(Commit)
  case checkpoint(CheckpointMessage)
  /// A client request forwarded to the leader by a replica that received it.
  case forwardedRequest(Request)
  case status(StatusMessage)
  case viewChange(ViewChange)
  case newView(NewView)
  case newViewAck(NewViewAck)
}

extension ProtocolMessage {
  /// The message's name, as the paper writes it.
  public var name: String {
    switch self {
    case .prepare: "PREPARE"
    case .commit: "COMMIT"
    case .checkpoint: "CHECKPOINT"
    case .forwardedRequest: "REQUEST"
    case .status: "STATUS"
    case .viewChange: "VIEW-CHANGE"
    case .newView: "NEW-VIEW"
    case .newViewAck: "NEW-VIEW-ACK"
    }
  }
}
