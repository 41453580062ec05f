import Crypto

/// A replica's side of the keys it shares with clients (§5.2.1 "certified
/// REQUEST"; per-client key agreement, issue 13).
///
/// Replica `r` has an X25519 key pair whose public half is in the group's
/// configuration; client `c` has one in its ``ClientPublicKeys``. The key between
/// them is `k(c, r) = HKDF-SHA256(X25519(c, r), info: c | r)`: only `c` and `r` can
/// compute it, no authority issues it. It tags replies, proves a client's identity
/// when it connects, and (in `macs` mode) tags requests.
public struct ClientKeyring: Sendable {
  /// This replica.
  public let replica: ReplicaID
  /// The admitted clients.
  public let directory: ClientDirectory
  private let agreementBox: ImmutableKey<Curve25519.KeyAgreement.PrivateKey>
  private var agreementKey: Curve25519.KeyAgreement.PrivateKey { agreementBox.key }
  private var cache: [ClientID: MACKey] = [:]
  private let cacheLimit: Int

  /// The keyring of `replica` with its X25519 private key (raw, 32 bytes).
  public init(
    replica: ReplicaID, agreementKey: [UInt8], directory: ClientDirectory,
    cacheLimit: Int = 100_000
  ) throws(ClientKeyError) {
    do {
      agreementBox = ImmutableKey(
        try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: agreementKey))
    } catch {
      throw .malformedKey("replica agreement private key: \(agreementKey.count) bytes, expected 32")
    }
    self.replica = replica
    self.directory = directory
    self.cacheLimit = cacheLimit
  }

  /// This replica's X25519 public key (raw), for the group configuration.
  public var publicKey: [UInt8] { Array(agreementKey.publicKey.rawRepresentation) }

  /// The key shared with `client`; `nil` if the client is not admitted.
  public mutating func key(for client: ClientID) -> MACKey? {
    if let key = cache[client] { return key }
    guard let keys = directory[client],
      let secret = try? agreementKey.sharedSecretFromKeyAgreement(with: keys.agreementKey)
    else { return nil }
    let key = MACKey(key: Self.derive(secret, client: client, replica: replica))
    if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
    cache[client] = key
    return key
  }

  /// `k(c, r)` from the X25519 shared secret of `c` and `r`.
  static func derive(_ secret: SharedSecret, client: ClientID, replica: ReplicaID) -> [UInt8] {
    var info = DigestBuilder(tag: DigestTag.clientKey.rawValue)
    info.append(client)
    info.append(replica)
    let key = secret.hkdfDerivedSymmetricKey(
      using: SHA256.self, salt: [UInt8](), sharedInfo: info.finalize().bytes,
      outputByteCount: 32)
    return key.withUnsafeBytes { Array($0) }
  }

  /// Whether `proof` shows that the sender of a connection's hello is an admitted
  /// (not revoked) client holding `k(client, replica)`, answering `challenge` (the
  /// handshake of issue 11: no reply goes to a connection before its client proved
  /// who it is).
  public mutating func verifyConnectionProof(
    _ proof: AuthenticationTag, client: ClientID, challenge: [UInt8]
  ) -> Bool {
    guard directory.admits(client), let key = key(for: client) else { return false }
    return key.verify(
      proof, over: ClientCredentials.connectionProofDigest(client, replica, challenge))
  }

  /// Whether `request` carries a valid tag for this replica at its position (`macs`).
  public mutating func verifyTag(of request: Request, payloadDigest: Digest) -> Bool {
    let index = Int(replica)
    guard index < request.authenticator.count, let key = key(for: request.client) else {
      return false
    }
    return key.verify(request.authenticator[index], over: payloadDigest)
  }
}
