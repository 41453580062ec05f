import HybsterCore

/// The keys of one run (issue 13), all drawn from its seed: the TrInX group key,
/// each replica's X25519 key, each client's Ed25519 and X25519 keys, and the
/// directory that admits the clients. Client ids derive from the keys, so a run's
/// clients are numbered by index and ``clientIDs`` maps an index to its id.
struct SimulationKeys: Sendable {
  /// The TrInX group key.
  let group: [UInt8]
  /// Each replica's raw X25519 public key, in replica order.
  let replicaPublicKeys: [[UInt8]]
  /// The clients' private keys: the honest ones, then the Byzantine one (if any).
  let clients: [ClientSecretKeys]
  /// The admitted clients.
  let directory: ClientDirectory
  /// How requests are authenticated.
  let mode: ClientAuthMode
  /// Shared by every replica of the run (see ``SignatureMemo``).
  let signatures: SignatureMemo
  /// Each replica's keyring, its key cache already filled: copies of it cost no
  /// key agreement.
  private let keyrings: [ClientKeyring]

  /// Draws the group key and the replicas' keys from `random` (as many bytes as the
  /// replica secrets of old took, so that the rest of the stream is unchanged) and
  /// the clients' keys from a stream of their own.
  init(
    random: inout SimulationRandom, seed: UInt64, replicas n: Int, clients: Int,
    mode: ClientAuthMode
  ) {
    group = random.bytes(32)
    let agreement = (0..<n).map { _ in random.bytes(32) }
    var clientRandom = SimulationRandom(seed: seed ^ 0xC11E_27C0_4E75_0001)
    var secrets: [ClientSecretKeys]
    var directory: ClientDirectory?
    repeat {
      // Force-try: any 32 bytes are a valid Ed25519 seed and X25519 scalar.
      secrets = (0..<clients).map { _ in
        try! ClientSecretKeys(signing: clientRandom.bytes(32), agreement: clientRandom.bytes(32))
      }
      // Ids are 32 bits: on the rare collision, draw again.
      directory = try? ClientDirectory(secrets.map(\.publicKeys))
    } while directory?.count != clients
    self.clients = secrets
    self.directory = directory!
    self.mode = mode
    signatures = SignatureMemo()
    keyrings = (0..<n).map { r in
      // Force-try: 32 bytes by construction.
      var keyring = try! ClientKeyring(
        replica: ReplicaID(r), agreementKey: agreement[r], directory: directory!)
      for id in directory!.ids { _ = keyring.key(for: id) }
      return keyring
    }
    replicaPublicKeys = keyrings.map(\.publicKey)
  }

  /// The id of client `index`.
  var clientIDs: [ClientID] { clients.map(\.publicKeys.id) }

  /// Replica `r`'s keys shared with clients.
  func keyring(_ r: Int) -> ClientKeyring { keyrings[r] }

  /// What a pillar of replica `r` checks requests with.
  func authenticator(_ r: Int) -> RequestAuthenticator {
    RequestAuthenticator(keyring: keyrings[r], mode: mode, signatures: signatures)
  }

  /// Client `index`'s credentials in `mode` (the run's mode by default).
  func credentials(_ index: Int, mode: ClientAuthMode? = nil) -> ClientCredentials {
    // Force-try: the replicas' public keys were derived from valid private keys.
    try! ClientCredentials(
      secret: clients[index], replicaKeys: replicaPublicKeys, mode: mode ?? self.mode)
  }
}
