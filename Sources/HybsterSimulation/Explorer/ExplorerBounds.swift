import HybsterCore
import TrInX

/// What the bounded exhaustive explorer explores (issue 10, item 3): a small
/// configuration of n = 3 replicas (f = 1), one of them Byzantine, and the bounds
/// that keep the search finite.
///
/// The network is the adversary of DESIGN.md ("The adversary we defend against"),
/// with these restrictions, which only remove behaviours (a violation found is
/// real; "nothing found" holds for the restricted network):
/// - each distinct message reaches each replica at most once (no duplicates;
///   retransmissions of a message already sent to a replica are dropped);
/// - STATUS messages are dropped (they only trigger resending of certified
///   messages; see ``includeStatus``);
/// - the execution stage takes a checkpoint as soon as it executed its order.
public struct ExplorerBounds: Sendable, Hashable {
  /// K, in global order numbers (§5.2.2). The window is ``windowFactor``·K.
  public var checkpointInterval: UInt64 = 2
  /// W / K.
  public var windowFactor: UInt64 = 2
  /// P (§5.3).
  public var pillars: Int = 1
  /// Rotating leaders (§6.2).
  public var rotateLeaders: Bool = false
  /// The number of client requests (one lane each), 1-3.
  public var requests: Int = 1
  /// The Byzantine replica (nil: all correct).
  public var byzantine: ReplicaID? = 2
  /// The most transitions on a path.
  public var depth: Int = 5
  /// No replica supports a view above this one; the Byzantine replica certifies
  /// nothing for a later view.
  public var maxView: View = 2
  /// The most Byzantine moves on a path.
  public var byzantineMoves: Int = 1
  /// The most timeouts on a path.
  public var timeouts: Int = 1
  /// Deliberate bugs injected into the correct replicas (the "old code").
  public var injectedFaults: InjectedFaults = []
  /// Keep STATUS messages in the network.
  public var includeStatus: Bool = false
  /// Let the Byzantine replica propose a request no client sent, claiming the
  /// client's id and lane with its next sequence number and a copied signature and
  /// authenticator (§5.2.1; issue 13). With signatures no correct replica may execute
  /// it; with MACs a view change can get it executed (the known gap of `macs` mode).
  public var inventedRequests: Bool = false
  /// How the client authenticates its requests (issue 13).
  public var clientAuthentication: ClientAuthMode = .signatures
  /// Stop after this many states (the result says the search was cut short).
  public var stateLimit: Int = 5_000_000

  /// The defaults: P = 1, K = 2, W = 4, one request, depth 5.
  public init() {}

  /// W.
  public var windowSize: UInt64 { checkpointInterval * windowFactor }

  /// The protocol configuration the replicas run: small timeouts, batches of one.
  public var configuration: ProtocolConfiguration {
    ProtocolConfiguration(
      replicaCount: 3, checkpointInterval: checkpointInterval, windowSize: windowSize,
      maxBatchSize: 1, maxInFlight: 1, maxOperationSize: 64, pillarCount: pillars,
      rotateLeaders: rotateLeaders, viewChangeTimeoutTicks: 2,
      clientAuthentication: clientAuthentication)
  }

  /// A one-line summary for reports.
  public var summary: String {
    var parts = [
      "n=3", "P=\(pillars)\(rotateLeaders ? " rotating" : "")", "K=\(checkpointInterval)",
      "W=\(windowSize)", "requests=\(requests)",
      "byzantine=\(byzantine.map { "r\($0)" } ?? "none")", "depth=\(depth)",
      "maxView=\(maxView)", "byzantineMoves=\(byzantineMoves)", "timeouts=\(timeouts)",
    ]
    if !injectedFaults.isEmpty {
      parts.append("inject=\(InjectedFaultName.names(of: injectedFaults).joined(separator: ","))")
    }
    if includeStatus { parts.append("status") }
    if inventedRequests { parts.append("invented-requests") }
    if clientAuthentication != .signatures {
      parts.append("client-auth=\(clientAuthentication.rawValue)")
    }
    return parts.joined(separator: " ")
  }
}
