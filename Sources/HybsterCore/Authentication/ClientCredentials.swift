import Crypto

/// A client's side of its keys (issue 13): its private keys, and the key
/// `k(c, r)` it shares with every replica (``ClientKeyring``). It signs or tags
/// requests, proves its identity when it connects, and checks replies.
public struct ClientCredentials: Sendable {
  /// The client principal.
  public var client: ClientID { secret.publicKeys.id }
  /// How requests are authenticated.
  public let mode: ClientAuthMode
  private let secret: ClientSecretKeys
  private let keys: [MACKey]

  /// The credentials of `secret` towards replicas whose X25519 public keys (raw) are
  /// `replicaKeys`, in replica order.
  public init(secret: ClientSecretKeys, replicaKeys: [[UInt8]], mode: ClientAuthMode)
    throws(ClientKeyError)
  {
    var keys: [MACKey] = []
    for (index, raw) in replicaKeys.enumerated() {
      guard let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: raw),
        let shared = try? secret.agreementKey.sharedSecretFromKeyAgreement(with: key)
      else { throw .malformedKey("replica \(index)'s agreement public key") }
      keys.append(
        MACKey(
          key: ClientKeyring.derive(shared, client: secret.publicKeys.id, replica: ReplicaID(index))
        ))
    }
    self.secret = secret
    self.keys = keys
    self.mode = mode
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
    requests([(lane, sequence, operation)])[0]
  }

  /// Builds requests sent together. With signatures, one signature covers them all
  /// (a Merkle root, ``RequestSignature``): a replica verifies it once.
  public func requests(_ items: [(lane: UInt32, sequence: UInt64, operation: [UInt8])])
    -> [Request]
  {
    var requests = items.map {
      Request(
        client: client, lane: $0.lane, sequence: $0.sequence, operation: $0.operation,
        authenticator: [])
    }
    guard !requests.isEmpty else { return [] }
    switch mode {
    case .macs:
      for i in requests.indices {
        let digest = requests[i].payloadDigest
        requests[i].authenticator = keys.map { $0.tag(digest) }
      }
    case .signatures:
      var start = 0
      while start < requests.count {
        let end = min(requests.count, start + (1 << RequestSignature.maxPathLength))
        let tree = RequestSignature.tree(over: requests[start..<end].map(\.payloadDigest))
        let signature = secret.sign(RequestSignature.signedMessage(root: tree.root))
        for (offset, path) in tree.paths.enumerated() {
          requests[start + offset].signature = RequestSignature(
            signature: signature, index: UInt32(offset), path: path)
        }
        start = end
      }
    }
    return requests
  }

  /// Whether `reply` is authentic from the replica it names.
  public func verify(_ reply: Reply) -> Bool {
    let index = Int(reply.replica)
    guard reply.client == client, index < keys.count else { return false }
    return keys[index].verify(reply.tag, over: reply.digest)
  }
}
