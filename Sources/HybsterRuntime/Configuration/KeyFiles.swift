import Foundation
import HybsterCore

/// A replica's secrets (`replica-<id>.key`): the TrInX group key shared by all
/// TrInX instances (§5.1) and the replica's X25519 private key, whose public half is
/// its `clientKey` in `cluster.json` (``HybsterCore/ClientKeyring``). Without SGX
/// the TrInX key is in process memory: protect the file like a private key.
public struct ReplicaKeys: Codable, Hashable, Sendable {
  /// The replica these keys belong to.
  public var replica: ReplicaID
  /// The 32-byte TrInX group key, hex.
  public var trinxGroupKey: String
  /// This replica's 32-byte X25519 private key, hex.
  public var clientAgreementKey: String

  /// Creates a key file's contents.
  public init(replica: ReplicaID, trinxGroupKey: [UInt8], clientAgreementKey: [UInt8]) {
    self.replica = replica
    self.trinxGroupKey = Hex.encode(trinxGroupKey)
    self.clientAgreementKey = Hex.encode(clientAgreementKey)
  }

  /// The decoded group key.
  public func groupKeyBytes() throws(ConfigError) -> [UInt8] {
    try Hex.decode32(trinxGroupKey, field: "trinxGroupKey")
  }

  /// The decoded X25519 private key.
  public func agreementKeyBytes() throws(ConfigError) -> [UInt8] {
    try Hex.decode32(clientAgreementKey, field: "clientAgreementKey")
  }

  /// Loads a key file.
  public static func load(from path: String) throws(ConfigError) -> ReplicaKeys {
    try JSONFile.load(ReplicaKeys.self, from: path)
  }
}

/// A client's private key file (`hybster client new --out NAME.key`, issue 13):
/// its Ed25519 signing key and X25519 agreement key, raw, hex. Only the client
/// holds it; the replicas hold its ``ClientPublicKeyFile``.
public struct ClientKeyFile: Codable, Hashable, Sendable {
  /// The client id the keys derive (informational; checked on load).
  public var id: ClientID
  /// The 32-byte Ed25519 private key (seed), hex.
  public var signingKey: String
  /// The 32-byte X25519 private key, hex.
  public var agreementKey: String

  /// The file of `secret`.
  public init(_ secret: ClientSecretKeys) {
    id = secret.publicKeys.id
    signingKey = Hex.encode(secret.signingBytes)
    agreementKey = Hex.encode(secret.agreementBytes)
  }

  /// The keys; the error says what is wrong.
  public func secret(path: String) throws(ConfigError) -> ClientSecretKeys {
    try decodeKeyPair(
      signingKey, agreementKey, id: id, path: path, make: ClientSecretKeys.init,
      derivedID: \.publicKeys.id)
  }

  /// Loads a client key file.
  public static func load(from path: String) throws(ConfigError) -> ClientSecretKeys {
    try JSONFile.load(ClientKeyFile.self, from: path).secret(path: path)
  }
}

/// A client's public key file (`NAME.pub`): what a replica needs to admit it. A
/// copy in the cluster's clients directory admits the client; `revoked: true` in it
/// revokes the client (`hybster client revoke`). The file stays: replicas check the
/// requests the client made before when they replay their logs.
public struct ClientPublicKeyFile: Codable, Hashable, Sendable {
  /// The client id the keys derive (checked on load).
  public var id: ClientID
  /// The 32-byte Ed25519 public key, hex.
  public var signingKey: String
  /// The 32-byte X25519 public key, hex.
  public var agreementKey: String
  /// Whether the client is revoked (absent: admitted).
  public var revoked: Bool?

  /// The file of `keys`.
  public init(_ keys: ClientPublicKeys, revoked: Bool = false) {
    self.revoked = revoked ? true : nil
    id = keys.id
    signingKey = Hex.encode(keys.signing)
    agreementKey = Hex.encode(keys.agreement)
  }

  /// The keys; the error says what is wrong.
  public func publicKeys(path: String) throws(ConfigError) -> ClientPublicKeys {
    try decodeKeyPair(
      signingKey, agreementKey, id: id, path: path, make: ClientPublicKeys.init,
      derivedID: \.id)
  }
}

/// A key file's two hex keys made into `Keys`, checked to derive the file's `id`.
private func decodeKeyPair<Keys>(
  _ signing: String, _ agreement: String, id: ClientID, path: String,
  make: ([UInt8], [UInt8]) throws(ClientKeyError) -> Keys, derivedID: (Keys) -> ClientID
) throws(ConfigError) -> Keys {
  let keys: Keys
  do {
    keys = try make(
      try Hex.decode32(signing, field: "signingKey"),
      try Hex.decode32(agreement, field: "agreementKey"))
  } catch let error as ConfigError {
    throw error
  } catch {
    throw .invalidKey(path: path, reason: "\(error)")
  }
  guard derivedID(keys) == id else {
    throw .invalidKey(
      path: path, reason: "id \(id) does not match the keys (they derive \(derivedID(keys)))")
  }
  return keys
}

/// The admitted clients of a cluster on disk: every `*.pub` file
/// (``ClientPublicKeyFile``) in the directory `cluster.json` names.
public enum ClientDirectoryFiles {
  /// The directory's path for the configuration file at `configPath`.
  public static func path(of config: ClusterConfig, configPath: String) -> String {
    if config.clients.hasPrefix("/") { return config.clients }
    let base = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
    return base + "/" + config.clients
  }

  /// Loads every `*.pub` file of `directory`, in name order.
  public static func load(from directory: String) throws(ConfigError) -> ClientDirectory {
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
      throw .clientDirectory(path: directory, reason: error.localizedDescription)
    }
    var keys: [ClientPublicKeys] = []
    var revoked: Set<ClientID> = []
    for name in names.sorted() where name.hasSuffix(".pub") {
      let path = directory + "/" + name
      let file = try JSONFile.load(ClientPublicKeyFile.self, from: path)
      keys.append(try file.publicKeys(path: path))
      if file.revoked == true { revoked.insert(file.id) }
    }
    do { return try ClientDirectory(keys, revoked: revoked) } catch {
      throw .clientDirectory(path: directory, reason: "\(error)")
    }
  }

  /// Writes `keys` as `directory/name.pub`.
  public static func admit(_ keys: ClientPublicKeys, name: String, in directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try JSONFile.save(ClientPublicKeyFile(keys), to: directory + "/" + name + ".pub")
  }

  /// Marks the client of the public key file `path` revoked; returns its id.
  public static func revoke(at path: String) throws(ConfigError) -> ClientID {
    var file = try JSONFile.load(ClientPublicKeyFile.self, from: path)
    let keys = try file.publicKeys(path: path)
    file.revoked = true
    do { try JSONFile.save(file, to: path) } catch {
      throw .unreadable(path: path, reason: "cannot write it: \(error.localizedDescription)")
    }
    return keys.id
  }
}

enum JSONFile {
  static func load<T: Decodable>(_ type: T.Type, from path: String) throws(ConfigError) -> T {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw .unreadable(path: path, reason: error.localizedDescription)
    }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
      throw .malformed(path: path, reason: "\(error)")
    }
  }

  static func save(_ value: some Encodable, to path: String, privateFile: Bool = false) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    if privateFile {
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
    }
  }
}

/// Lowercase hexadecimal encoding of key material.
public enum Hex {
  /// `bytes` as lowercase hex.
  public static func encode(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0xf)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Decodes hex; `nil` on odd length or a non-hex character.
  public static func decode(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 2)
    var i = 0
    while i < chars.count {
      guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
      out.append(hi << 4 | lo)
      i += 2
    }
    return out
  }

  static func decode32(_ text: String, field: String) throws(ConfigError) -> [UInt8] {
    guard let bytes = decode(text), bytes.count == 32 else {
      throw .invalidKey(path: field, reason: "\(field) must be 64 hex digits")
    }
    return bytes
  }

  private static func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
