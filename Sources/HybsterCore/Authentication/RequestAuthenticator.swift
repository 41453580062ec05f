/// Decides whether a request is authentic, for one pillar (§5.2.1 "certified
/// REQUEST"; issue 13).
///
/// With ``ClientAuthMode/signatures`` the answer depends only on the request and the
/// group's ``ClientDirectory``: every correct replica gives the same one, so a
/// replica may drop an inauthentic request from a batch it delivers — every correct
/// replica drops the same ones, and none of them ever committed one. With
/// ``ClientAuthMode/macs`` it depends on this replica's own tag only.
///
/// Signatures are checked once per signed root: the verified (client, root,
/// signature) triples are remembered, so a batch of requests a client signed
/// together costs one Ed25519 verification per pillar.
public struct RequestAuthenticator: Sendable {
  /// The keys this replica shares with clients.
  public var keyring: ClientKeyring
  /// How requests are authenticated.
  public let mode: ClientAuthMode
  private let signatures: any SignatureChecking
  private var verified: Set<Digest> = []
  private let verifiedLimit: Int
  /// The last path walked — its nodes, siblings, leaf index and root: the requests
  /// of one signed tree arrive together, and a walk stops where it meets that path
  /// (the same node with the same siblings and directions above it, so the same
  /// root), so checking k requests of a tree costs about 2k hashes, not k · log k.
  private var lastWalk: (nodes: [Digest], path: [Digest], index: UInt32, root: Digest)?

  /// An authenticator over `keyring` in `mode`; `signatures` checks Ed25519
  /// signatures (the simulator shares a memoizing one between its replicas).
  public init(
    keyring: ClientKeyring, mode: ClientAuthMode,
    signatures: any SignatureChecking = Ed25519Signatures(), verifiedLimit: Int = 65_536
  ) {
    self.keyring = keyring
    self.mode = mode
    self.signatures = signatures
    self.verifiedLimit = verifiedLimit
  }

  /// Whether a replica drops inauthentic requests from delivered batches: only where
  /// every correct replica agrees on which are inauthentic.
  public var filtersDeliveries: Bool { mode == .signatures }

  /// Whether this replica may order `request` (with payload digest `payload`): it is
  /// authentic and its client is not revoked. A leader proposes, and a follower
  /// COMMITs, only such requests.
  public mutating func mayOrder(_ request: Request, payload: Digest) -> Bool {
    keyring.directory.admits(request.client) && isAuthentic(request, payload: payload)
  }

  /// Whether `request` (with payload digest `payload`) is authentic: signed by its
  /// client (admitted or revoked), or with MACs carrying a valid tag of ours.
  public mutating func isAuthentic(_ request: Request, payload: Digest) -> Bool {
    switch mode {
    case .macs:
      return keyring.verifyTag(of: request, payloadDigest: payload)
    case .signatures:
      guard let signature = request.signature,
        signature.signature.count == RequestSignature.signatureByteCount,
        let keys = keyring.directory[request.client],
        let root = root(of: payload, signature)
      else { return false }
      var builder = DigestBuilder()
      builder.append(request.client)
      builder.append(root)
      builder.append(bytes: signature.signature)
      let triple = builder.finalize()
      if verified.contains(triple) { return true }
      guard
        signatures.isValid(
          signature.signature, over: RequestSignature.signedMessage(root: root), by: keys)
      else { return false }
      if verified.count >= verifiedLimit { verified.removeAll(keepingCapacity: true) }
      verified.insert(triple)
      return true
    }
  }

  /// The root that `leaf` and the block's path lead to (`nil` if the block is not
  /// well-formed), stopping where the walk meets the last one.
  private mutating func root(of leaf: Digest, _ signature: RequestSignature) -> Digest? {
    guard signature.isWellFormed else { return nil }
    let path = signature.path
    var node = leaf
    var nodes = [node]
    for level in path.indices {
      if let last = lastWalk, last.path.count == path.count, last.nodes[level] == node,
        last.index >> level == signature.index >> level, last.path[level...] == path[level...]
      {
        return last.root
      }
      node = signature.node(above: node, level: level)
      nodes.append(node)
    }
    lastWalk = (nodes, path, signature.index, node)
    return node
  }

  /// `batch` without its inauthentic requests (with signatures; as is with MACs).
  public mutating func authenticPart(of batch: Batch) -> Batch {
    guard filtersDeliveries else { return batch }
    let authentic = batch.requests.filter { isAuthentic($0, payload: $0.payloadDigest) }
    return authentic.count == batch.requests.count ? batch : Batch(requests: authentic)
  }
}

/// Checks client signatures. Validity must be a pure function of its arguments:
/// correct replicas rely on agreeing about it.
public protocol SignatureChecking: Sendable {
  /// Whether `signature` is `client`'s signature over `message`.
  func isValid(_ signature: [UInt8], over message: Digest, by client: ClientPublicKeys) -> Bool
}

/// Ed25519 (RFC 8032) through swift-crypto.
public struct Ed25519Signatures: SignatureChecking {
  /// Creates the checker.
  public init() {}

  public func isValid(_ signature: [UInt8], over message: Digest, by client: ClientPublicKeys)
    -> Bool
  {
    client.isValidSignature(signature, over: message)
  }
}
