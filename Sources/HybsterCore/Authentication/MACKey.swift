import Crypto
import Foundation

/// An HMAC-SHA256 key with its inner and outer states prepared once; every tag
/// copies the prepared state instead of hashing the key again.
public struct MACKey: @unchecked Sendable {
  // `HMAC<SHA256>` is a value type whose copies are independent.
  private let template: HMAC<SHA256>

  /// Prepares `key` (any length; 32 bytes recommended).
  public init(key: some ContiguousBytes) {
    template = key.withUnsafeBytes { HMAC<SHA256>(key: SymmetricKey(data: $0)) }
  }

  /// The tag over `digest`.
  public func tag(_ digest: Digest) -> AuthenticationTag {
    var hmac = template
    digest.withUnsafeBytes { hmac.update(data: $0) }
    return hmac.finalize().withUnsafeBytes { AuthenticationTag(bytes: $0)! }
  }

  /// Whether `tag` is the tag over `digest` (constant-time comparison).
  public func verify(_ tag: AuthenticationTag, over digest: Digest) -> Bool {
    self.tag(digest) == tag
  }
}
