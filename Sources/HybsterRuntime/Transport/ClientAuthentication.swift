import HybsterCore
import HybsterWire

/// How a client proves who it is on a replica's client port (issues 11, 13): with
/// the key `k(c, r)` it shares with this replica (§5.2.1), derived from its own
/// X25519 key, over the replica's challenge. No reply goes to a connection before
/// that, so nobody can receive another client's replies by claiming its id, and a
/// client the group does not admit cannot connect at all.
struct ClientAuthentication: Sendable {
  /// This replica's keys shared with the admitted clients.
  let keyring: ClientKeyring

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
    let keyring = keyring
    return InboundHandshake.Verifier(
      admits: { role in
        if case .client = role { true } else { false }
      },
      verify: { role, challenge, proof in
        guard case .client(let client) = role else { return false }
        var keyring = keyring
        return keyring.verifyConnectionProof(proof.mac, client: client, challenge: challenge)
      },
      explain: { role in
        guard case .client(let client) = role else { return nil }
        if keyring.directory.isRevoked(client) {
          return Refusal(
            reason: .unknownClient, detail: "client \(client) was revoked by this group")
        }
        return keyring.directory[client] == nil
          ? Refusal(
            reason: .unknownClient,
            detail: "client \(client) is not admitted by this group (no public key file for it)")
          : Refusal(
            reason: .invalidProof,
            detail: "the proof does not match client \(client)'s admitted keys: wrong key file?")
      })
  }
}
