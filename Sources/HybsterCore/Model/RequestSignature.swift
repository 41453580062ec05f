/// A client's Ed25519 signature that covers a request (issue 13): publicly
/// verifiable, so that every replica can check a request that reaches it in a
/// VIEW-CHANGE or NEW-VIEW (§5.2.3), not only the one replica whose MAC it carries.
///
/// A client may sign the requests it sends together once: it signs the root of a
/// Merkle tree over their ``Request/payloadDigest``s (padded with ``Digest/zero``
/// leaves to a power of two), and each request carries the signature, its leaf
/// index and the sibling digests from its leaf up to the root. A request signed
/// alone has an empty path and index 0: its root is its own payload digest.
public struct RequestSignature: Hashable, Sendable {
  /// The 64-byte Ed25519 signature over ``signedMessage(root:)``.
  public var signature: [UInt8]
  /// The request's leaf position in the signed tree.
  public var index: UInt32
  /// The sibling digests from the leaf up to the root.
  public var path: [Digest]

  /// An Ed25519 signature's length.
  public static let signatureByteCount = 64
  /// The deepest tree a signature may cover (65,536 requests).
  public static let maxPathLength = 16

  /// Creates a signature block.
  public init(signature: [UInt8], index: UInt32, path: [Digest]) {
    self.signature = signature
    self.index = index
    self.path = path
  }

  /// Whether the index fits the path (a leaf of a tree of that depth).
  public var isWellFormed: Bool {
    path.count <= Self.maxPathLength && UInt64(index) >> path.count == 0
  }

  /// The node one level above `node`, which is at `level` on this block's path.
  func node(above node: Digest, level: Int) -> Digest {
    (index >> level) & 1 == 0
      ? Self.parent(node, path[level]) : Self.parent(path[level], node)
  }

  /// What the client signs: the root under a domain tag.
  public static func signedMessage(root: Digest) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.signedRoot.rawValue)
    builder.append(root)
    return builder.finalize()
  }

  /// An inner node of the tree.
  static func parent(_ left: Digest, _ right: Digest) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.merkleNode.rawValue)
    builder.append(left)
    builder.append(right)
    return builder.finalize()
  }

  /// The root of the tree over `leaves` and every leaf's path (leaves padded with
  /// zero digests to a power of two).
  static func tree(over leaves: [Digest]) -> (root: Digest, paths: [[Digest]]) {
    precondition(!leaves.isEmpty && leaves.count <= 1 << maxPathLength)
    var width = 1
    while width < leaves.count { width <<= 1 }
    var level = leaves + Array(repeating: .zero, count: width - leaves.count)
    var paths = Array(repeating: [Digest](), count: leaves.count)
    var position = Array(0..<leaves.count)
    while level.count > 1 {
      for i in paths.indices { paths[i].append(level[position[i] ^ 1]) }
      level = stride(from: 0, to: level.count, by: 2).map { parent(level[$0], level[$0 + 1]) }
      for i in position.indices { position[i] >>= 1 }
    }
    return (level[0], paths)
  }

  /// The digest this block adds to its request's identity (``Request/digest``).
  func append(to builder: inout DigestBuilder) {
    builder.append(bytes: signature)
    builder.append(index)
    builder.append(UInt8(truncatingIfNeeded: path.count))
    for digest in path { builder.append(digest) }
  }
}
