import HybsterCore
import HybsterWire

/// How a client proves who it is on a replica's client port (issue 11): with the key
/// `k(c, r)` it shares with this replica (§5.2.1), over the replica's challenge. No
/// reply goes to a connection before that, so nobody can receive another client's
/// replies by claiming its id.
struct ClientAuthentication: Sendable {
  let replica: ReplicaID
  let replicaSecret: [UInt8]

  /// The frames a client port decodes: a client sends only requests, so a frame is
  /// at most one request with the group's largest operation and a full
  /// authenticator. A client cannot make a replica buffer a 16 MiB frame per
  /// connection (issue 11: slow frames pin memory).
  static func frameLimits(_ configuration: ProtocolConfiguration) -> WireLimits {
    WireLimits(
      maxFrameLength: 2
        + Request.byteCount(
          operation: configuration.maxOperationSize, replicas: configuration.replicaCount))
  }

  /// The acceptor's check of a client port's handshake.
  var verifier: InboundHandshake.Verifier {
    let replica = replica
    let secret = replicaSecret
    return InboundHandshake.Verifier(
      admits: { role in
        if case .client = role { true } else { false }
      },
      verify: { role, challenge, proof in
        guard case .client(let client) = role else { return false }
        var keyring = ClientKeyring(replicaSecret: secret, cacheLimit: 1)
        return keyring.verifyConnectionProof(
          proof.mac, client: client, replica: replica, challenge: challenge)
      })
  }
}
