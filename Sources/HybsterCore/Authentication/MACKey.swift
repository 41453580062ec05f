import TrInX

/// An HMAC-SHA256 key between a client and a replica (§5.2.1), with its inner and
/// outer states prepared once (TrInX's ``TrInX/KeyedHMAC``): every tag copies the
/// prepared states instead of hashing the key again.
public struct MACKey: Sendable {
  private let hmac: KeyedHMAC

  /// Prepares `key` (32 bytes in Hybster).
  public init(key: [UInt8]) {
    hmac = KeyedHMAC(key: key)
  }

  /// The tag over `digest`.
  public func tag(_ digest: Digest) -> AuthenticationTag {
    digest.withUnsafeBytes { hmac.mac($0) }
  }

  /// Whether `tag` is the tag over `digest` (constant-time comparison).
  public func verify(_ tag: AuthenticationTag, over digest: Digest) -> Bool {
    self.tag(digest) == tag
  }
}
