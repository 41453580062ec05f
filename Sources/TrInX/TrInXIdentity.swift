/// A TrInX instance's identity in connection handshakes (issue 11): a replica that
/// opens a connection to a peer proves that it holds the instance it claims, by a
/// MAC over the peer's random challenge under the group key. Only TrInX holds that
/// key (§5.1), so a stranger cannot pass for a replica, and a faulty replica's TrInX
/// proves only its own instance id.
///
/// No counter is involved: a proof certifies nothing about the protocol and cannot
/// be taken for a certificate, since its first MAC byte, ``kind`` (0x10), is none of
/// the certificate kinds (1-4). MAC layout (HMAC-SHA256, integers big-endian):
///
///     0x10 | prover:u32 | verifier:u32 | challenge
public struct TrInXIdentity: Sendable {
  /// The instance whose identity this proves.
  public let id: TrInXInstanceID
  private let keyed: KeyedHMAC

  /// The first byte under an identity proof's MAC.
  public static let kind: UInt8 = 0x10

  /// The identity of instance `id` of the group with key `key`.
  /// - Throws: ``TrInXError/invalidKeyLength(_:)`` unless `key` has 32 bytes.
  public init(id: TrInXInstanceID, key: [UInt8]) throws(TrInXError) {
    guard key.count == 32 else { throw .invalidKeyLength(key.count) }
    self.id = id
    self.keyed = KeyedHMAC(key: key)
  }

  /// Proves this identity to `verifier`, which sent `challenge`.
  public func prove(challenge: [UInt8], to verifier: TrInXInstanceID) -> TrInXMAC {
    Self.mac(keyed, prover: id, verifier: verifier, challenge: challenge)
  }

  /// Whether `proof` shows that its sender holds instance `prover`, answering the
  /// `challenge` this identity sent.
  public func verify(_ proof: TrInXMAC, from prover: TrInXInstanceID, challenge: [UInt8]) -> Bool {
    Self.mac(keyed, prover: prover, verifier: id, challenge: challenge) == proof
  }

  private static func mac(
    _ keyed: KeyedHMAC, prover: TrInXInstanceID, verifier: TrInXInstanceID, challenge: [UInt8]
  ) -> TrInXMAC {
    var header: [UInt8] = [kind]
    for value in [prover, verifier] {
      withUnsafeBytes(of: value.bigEndian) { header.append(contentsOf: $0) }
    }
    return header.withUnsafeBytes { h in
      challenge.withUnsafeBytes { keyed.mac(header: h, message: $0) }
    }
  }
}
