import HybsterCore
import TrInX

/// CHALLENGE (issue 11, authenticated connections): the accepting side's answer to
/// a HELLO, 32 random bytes. Until the connecting side answers with a valid
/// ``HandshakeProof`` the acceptor takes nothing else from the connection and sends
/// nothing on it.
public struct HandshakeChallenge: Hashable, Sendable {
  /// The random nonce, exactly ``byteCount`` bytes.
  public var nonce: [UInt8]

  /// The nonce length.
  public static let byteCount = 32

  /// A challenge; `nonce` must have ``byteCount`` bytes.
  public init(nonce: [UInt8]) {
    precondition(nonce.count == Self.byteCount, "a challenge nonce has 32 bytes")
    self.nonce = nonce
  }
}

/// PROOF: the connecting side's answer to a ``HandshakeChallenge``, a MAC over the
/// challenge that only the identity its HELLO claimed can compute — a replica's
/// TrInX identity (`TrInXIdentity`), or a client's key shared with this replica
/// (`ClientCredentials.connectionProof`).
public struct HandshakeProof: Hashable, Sendable {
  /// The MAC.
  public var mac: TrInXMAC

  /// A proof.
  public init(mac: TrInXMAC) { self.mac = mac }
}
