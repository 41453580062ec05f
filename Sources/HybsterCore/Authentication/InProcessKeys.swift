import Crypto

/// The client-side keys of an in-process group (issue 13) — the simulator's, the
/// benchmarks', the tests': every replica's X25519 private key and the admitted
/// clients' keys, derived deterministically from `seed`, so that a seeded run is
/// reproducible. Deployments generate random keys instead (`hybster config init`,
/// `hybster client new`).
public struct InProcessKeys: Sendable {
  /// Each replica's raw X25519 private key, in replica order.
  public let replicaKeys: [[UInt8]]
  /// Each replica's raw X25519 public key, in replica order.
  public let replicaPublicKeys: [[UInt8]]
  /// The admitted clients' private keys.
  public let clients: [ClientSecretKeys]
  /// The admitted clients.
  public let directory: ClientDirectory

  /// Keys for `replicas` replicas and `clients` clients.
  public init(replicas: Int, clients: Int, seed: UInt64 = 0) {
    func bytes(_ kind: UInt8, _ index: Int) -> [UInt8] {
      var builder = DigestBuilder(tag: kind)
      builder.append(seed)
      builder.append(UInt32(index))
      return builder.finalize().bytes
    }
    replicaKeys = (0..<replicas).map { bytes(1, $0) }
    replicaPublicKeys = replicaKeys.map {
      Array(
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: $0).publicKey.rawRepresentation)
    }
    self.clients = (0..<clients).map {
      try! ClientSecretKeys(signing: bytes(2, $0), agreement: bytes(3, $0))
    }
    directory = try! ClientDirectory(self.clients.map(\.publicKeys))
  }

  /// Replica `replica`'s keyring.
  public func keyring(_ replica: ReplicaID) -> ClientKeyring {
    try! ClientKeyring(
      replica: replica, agreementKey: replicaKeys[Int(replica)], directory: directory)
  }

  /// Replica `replica`'s authenticator of requests.
  public func authenticator(
    _ replica: ReplicaID, mode: ClientAuthMode,
    signatures: any SignatureChecking = Ed25519Signatures()
  ) -> RequestAuthenticator {
    RequestAuthenticator(keyring: keyring(replica), mode: mode, signatures: signatures)
  }

  /// Client `index`'s credentials.
  public func credentials(_ index: Int, mode: ClientAuthMode) -> ClientCredentials {
    try! ClientCredentials(secret: clients[index], replicaKeys: replicaPublicKeys, mode: mode)
  }
}
