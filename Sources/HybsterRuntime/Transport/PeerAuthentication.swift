import HybsterCore
import HybsterWire
import TrInX

/// How replicas prove who they are on peer connections (issue 11): with their TrInX
/// identity (`TrInXIdentity`, the instance of their first pillar), which only the
/// TrInX group key can produce. A stranger cannot pass for a replica, and a faulty
/// replica only for itself.
struct PeerAuthentication: Sendable {
  let replica: ReplicaID
  let configuration: ProtocolConfiguration
  private let identity: TrInXIdentity
  /// The digest of the admitted clients: every proof covers it, so two replicas that
  /// admit different clients never talk (with signatures, which requests execute
  /// depends on it; issue 13).
  private let clients: Digest

  init(
    replica: ReplicaID, configuration: ProtocolConfiguration, groupKey: [UInt8],
    clients: ClientDirectory
  ) throws {
    self.replica = replica
    self.configuration = configuration
    self.clients = clients.digest
    self.identity = try TrInXIdentity(
      id: configuration.trinxInstance(of: replica, pillar: 0), key: groupKey)
  }

  /// Our proof for `peer`, which sent `challenge`.
  func proof(for challenge: HandshakeChallenge, to peer: ReplicaID) -> HandshakeProof {
    HandshakeProof(
      mac: identity.prove(
        challenge: challenge.nonce + clients.bytes,
        to: configuration.trinxInstance(of: peer, pillar: 0)))
  }

  /// The acceptor's check of a peer port's handshake: only another replica of the
  /// group, proving its own TrInX identity.
  var verifier: InboundHandshake.Verifier {
    let identity = identity
    let configuration = configuration
    let replica = replica
    let clients = clients
    return InboundHandshake.Verifier(
      admits: { role in
        guard case .replica(let peer) = role else { return false }
        return configuration.replicas.contains(peer) && peer != replica
      },
      verify: { role, challenge, proof in
        guard case .replica(let peer) = role else { return false }
        return identity.verify(
          proof.mac, from: configuration.trinxInstance(of: peer, pillar: 0),
          challenge: challenge + clients.bytes)
      })
  }
}
