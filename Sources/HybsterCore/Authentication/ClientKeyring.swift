/// The keys between clients and one replica (§5.2.1 "certified REQUEST"; PBFT-style
/// MAC authenticators).
///
/// Replica `r` holds a secret `m_r` that no other replica knows. The key between
/// client `c` and replica `r` is `k(c, r) = HMAC(m_r, tag | c)`. A client receives
/// `k(c, r)` for every replica (``ClientCredentials``); a request carries one tag per
/// replica. Replica `r` can check only its own tag, and cannot compute another
/// replica's: a Byzantine leader cannot invent a request that followers accept.
public struct ClientKeyring: Sendable {
  private let master: MACKey
  private var cache: [ClientID: MACKey] = [:]
  private let cacheLimit: Int

  /// Creates the keyring of a replica from its secret `m_r`.
  public init(replicaSecret: [UInt8], cacheLimit: Int = 100_000) {
    self.master = MACKey(key: replicaSecret)
    self.cacheLimit = cacheLimit
  }

  /// Derives `k(c, r)` from a replica secret (used by configuration tools).
  public static func derive(clientKeyFor client: ClientID, replicaSecret: [UInt8]) -> [UInt8] {
    MACKey(key: replicaSecret).tag(Self.derivationInput(client)).bytes
  }

  private static func derivationInput(_ client: ClientID) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.clientKey.rawValue)
    builder.append(client)
    return builder.finalize()
  }

  /// The key shared with `client`.
  public mutating func key(for client: ClientID) -> MACKey {
    if let key = cache[client] { return key }
    let key = MACKey(key: master.tag(Self.derivationInput(client)).bytes)
    if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
    cache[client] = key
    return key
  }

  /// Whether `proof` shows that the sender of a connection's hello holds `k(client,
  /// replica)`, answering `challenge` (the handshake of issue 11: no reply goes to a
  /// connection before its client proved who it is).
  public mutating func verifyConnectionProof(
    _ proof: AuthenticationTag, client: ClientID, replica: ReplicaID, challenge: [UInt8]
  ) -> Bool {
    key(for: client).verify(
      proof, over: ClientCredentials.connectionProofDigest(client, replica, challenge))
  }

  /// Whether `request` carries a valid tag for `replica` at its position.
  public mutating func verify(_ request: Request, digest: Digest, as replica: ReplicaID) -> Bool {
    let index = Int(replica)
    guard index < request.authenticator.count else { return false }
    return key(for: request.client).verify(request.authenticator[index], over: digest)
  }
}

/// A client's keys, one per replica (§5.2.1): it tags requests for every replica and
/// checks each replica's replies.
public struct ClientCredentials: Sendable {
  /// The client principal.
  public let client: ClientID
  private let keys: [MACKey]

  /// Creates credentials from `k(c, r)` for `r = 0..<n`.
  public init(client: ClientID, keys: [[UInt8]]) {
    self.client = client
    self.keys = keys.map { MACKey(key: $0) }
  }

  /// Derives the credentials of `client` from every replica's secret (the
  /// deployment's client-issuing authority).
  public init(client: ClientID, replicaSecrets: [[UInt8]]) {
    self.init(
      client: client,
      keys: replicaSecrets.map { ClientKeyring.derive(clientKeyFor: client, replicaSecret: $0) })
  }

  /// The number of replicas.
  public var replicaCount: Int { keys.count }

  /// Proves this client's identity to `replica`, which sent `challenge` on a new
  /// connection.
  public func connectionProof(challenge: [UInt8], replica: ReplicaID) -> AuthenticationTag {
    keys[Int(replica)].tag(Self.connectionProofDigest(client, replica, challenge))
  }

  static func connectionProofDigest(
    _ client: ClientID, _ replica: ReplicaID, _ challenge: [UInt8]
  ) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.connectionProof.rawValue)
    builder.append(client)
    builder.append(replica)
    builder.append(bytes: challenge)
    return builder.finalize()
  }

  /// Builds an authenticated request.
  public func request(lane: UInt32, sequence: UInt64, operation: [UInt8]) -> Request {
    var request = Request(
      client: client, lane: lane, sequence: sequence, operation: operation, authenticator: [])
    let digest = request.digest
    request.authenticator = keys.map { $0.tag(digest) }
    return request
  }

  /// Whether `reply` is authentic from the replica it names.
  public func verify(_ reply: Reply) -> Bool {
    let index = Int(reply.replica)
    guard reply.client == client, index < keys.count else { return false }
    return keys[index].verify(reply.tag, over: reply.digest)
  }
}
