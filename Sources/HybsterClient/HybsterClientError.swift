/// Why a client request did not complete.
public enum HybsterClientError: Error, Sendable, Hashable, CustomStringConvertible {
  /// No f+1 matching replies arrived before the request's time limit.
  case timeout
  /// The client was shut down.
  case shutdown
  /// Too few replicas could be reached.
  case connectionFailed(String)
  /// f+1 replicas refused the request or the client (``HybsterWire/Refusal``).
  case refused(String)

  public var description: String {
    switch self {
    case .timeout: "no f+1 matching replies in time"
    case .shutdown: "client shut down"
    case .connectionFailed(let reason): "connection failed: \(reason)"
    case .refused(let reason): "refused: \(reason)"
    }
  }
}
