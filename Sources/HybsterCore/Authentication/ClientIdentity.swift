import Crypto

/// A client's public identity (issue 13; the "certified REQUEST" of §5.2.1 made
/// publicly verifiable): an Ed25519 key that signs the client's requests, so that
/// every replica can check a request a NEW-VIEW re-proposes, and an X25519 key from
/// which each replica derives the MAC key it shares with the client
/// (``ClientKeyring``). The client id derives from both keys, and the replicas'
/// ``ClientDirectory`` binds it to them: no client can act under another's id.
public struct ClientPublicKeys: Hashable, Sendable {
  /// The raw 32-byte Ed25519 public key.
  public let signing: [UInt8]
  /// The raw 32-byte X25519 public key.
  public let agreement: [UInt8]
  /// The client id: the first four bytes (big-endian) of SHA-256 over a domain tag
  /// and both keys.
  public let id: ClientID
  private let signingBox: ImmutableKey<Curve25519.Signing.PublicKey>
  private let agreementBox: ImmutableKey<Curve25519.KeyAgreement.PublicKey>
  var signingKey: Curve25519.Signing.PublicKey { signingBox.key }
  var agreementKey: Curve25519.KeyAgreement.PublicKey { agreementBox.key }

  /// Parses both raw keys; the error says which is malformed.
  public init(signing: [UInt8], agreement: [UInt8]) throws(ClientKeyError) {
    do {
      signingBox = ImmutableKey(try Curve25519.Signing.PublicKey(rawRepresentation: signing))
    } catch { throw .malformedKey("signing public key: \(signing.count) bytes, expected 32") }
    do {
      agreementBox = ImmutableKey(
        try Curve25519.KeyAgreement.PublicKey(rawRepresentation: agreement))
    } catch { throw .malformedKey("agreement public key: \(agreement.count) bytes, expected 32") }
    self.signing = signing
    self.agreement = agreement
    var builder = DigestBuilder(tag: DigestTag.clientIdentity.rawValue)
    builder.append(bytes: signing)
    builder.append(bytes: agreement)
    id = builder.finalize().withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).bigEndian }
  }

  public static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.signing == rhs.signing && lhs.agreement == rhs.agreement
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(signing)
    hasher.combine(agreement)
  }

  /// Whether `signature` is this client's Ed25519 signature over `message`.
  public func isValidSignature(_ signature: [UInt8], over message: Digest) -> Bool {
    message.withUnsafeBytes { signingKey.isValidSignature(signature, for: $0) }
  }
}

/// A client's private keys: only the client holds them (`hybster client new`).
public struct ClientSecretKeys: Sendable {
  private let signingBox: ImmutableKey<Curve25519.Signing.PrivateKey>
  private let agreementBox: ImmutableKey<Curve25519.KeyAgreement.PrivateKey>
  var signingKey: Curve25519.Signing.PrivateKey { signingBox.key }
  var agreementKey: Curve25519.KeyAgreement.PrivateKey { agreementBox.key }
  /// The matching public identity.
  public let publicKeys: ClientPublicKeys

  /// Fresh random keys.
  public static func generate() -> ClientSecretKeys {
    try! ClientSecretKeys(
      signing: Curve25519.Signing.PrivateKey().rawRepresentation.map { $0 },
      agreement: Curve25519.KeyAgreement.PrivateKey().rawRepresentation.map { $0 })
  }

  /// Keys from their raw 32-byte private representations (a key file, or a
  /// simulator's seeded bytes).
  public init(signing: [UInt8], agreement: [UInt8]) throws(ClientKeyError) {
    do {
      signingBox = ImmutableKey(try Curve25519.Signing.PrivateKey(rawRepresentation: signing))
    } catch {
      throw .malformedKey("signing private key: \(signing.count) bytes, expected 32")
    }
    do {
      agreementBox = ImmutableKey(
        try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: agreement))
    } catch {
      throw .malformedKey("agreement private key: \(agreement.count) bytes, expected 32")
    }
    publicKeys = try ClientPublicKeys(
      signing: Array(signingBox.key.publicKey.rawRepresentation),
      agreement: Array(agreementBox.key.publicKey.rawRepresentation))
  }

  /// The raw private signing key (for a key file).
  public var signingBytes: [UInt8] { Array(signingKey.rawRepresentation) }
  /// The raw private agreement key (for a key file).
  public var agreementBytes: [UInt8] { Array(agreementKey.rawRepresentation) }

  /// The client's Ed25519 signature over `message`.
  func sign(_ message: Digest) -> [UInt8] {
    let signature = message.withUnsafeBytes { try! signingKey.signature(for: $0) }
    return Array(signature)
  }
}

/// What is wrong with a client key.
public enum ClientKeyError: Error, Hashable, Sendable, CustomStringConvertible {
  case malformedKey(String)

  public var description: String {
    switch self {
    case .malformedKey(let what): "malformed \(what)"
    }
  }
}
