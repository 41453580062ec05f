import HybsterCore
import HybsterWire

/// How a client proves who it is on a replica's client port (issue 11): with the key
/// `k(c, r)` it shares with this replica (§5.2.1), over the replica's challenge. No
/// reply goes to a connection before that, so nobody can receive another client's
/// replies by claiming its id.
struct ClientAuthentication: Sendable {
  let replica: ReplicaID
  let replicaSecret: [UInt8]

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
