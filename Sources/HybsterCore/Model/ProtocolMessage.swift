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
