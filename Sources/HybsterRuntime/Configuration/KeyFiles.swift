import Foundation
import HybsterCore

/// A replica's secrets (`replica-<id>.key`): the TrInX group key shared by all
/// TrInX instances (§5.1) and the replica's own client-key secret `m_r`
/// (``HybsterCore/ClientKeyring``). Without SGX the TrInX key is in process memory:
/// protect the file like a private key.
public struct ReplicaKeys: Codable, Hashable, Sendable {
  /// The replica these keys belong to.
  public var replica: ReplicaID
  /// The 32-byte TrInX group key, hex.
  public var trinxGroupKey: String
  /// This replica's 32-byte client-key secret, hex.
  public var clientSecret: String

  /// Creates a key file's contents.
  public init(replica: ReplicaID, trinxGroupKey: [UInt8], clientSecret: [UInt8]) {
    self.replica = replica
    self.trinxGroupKey = Hex.encode(trinxGroupKey)
    self.clientSecret = Hex.encode(clientSecret)
  }

  /// The decoded group key.
  public func groupKeyBytes() throws(ConfigError) -> [UInt8] {
    try Hex.decode32(trinxGroupKey, field: "trinxGroupKey")
  }

  /// The decoded client secret.
  public func clientSecretBytes() throws(ConfigError) -> [UInt8] {
    try Hex.decode32(clientSecret, field: "clientSecret")
  }

  /// Loads a key file.
  public static func load(from path: String) throws(ConfigError) -> ReplicaKeys {
    try JSONFile.load(ReplicaKeys.self, from: path)
  }
}

/// The client-issuing authority (`clients.key`): every replica's client-key secret,
/// from which the keys of any client id derive. Whoever holds it can act as any
/// client (but not as any replica). A deployment hands each client only its derived
/// keys instead.
public struct ClientAuthority: Codable, Hashable, Sendable {
  /// Each replica's 32-byte client secret, hex, in replica order.
  public var replicaSecrets: [String]

  /// Creates the authority file's contents.
  public init(replicaSecrets: [[UInt8]]) {
    self.replicaSecrets = replicaSecrets.map(Hex.encode)
  }

  /// The credentials of `client`.
  public func credentials(for client: ClientID) throws(ConfigError) -> ClientCredentials {
    var secrets: [[UInt8]] = []
    for secret in replicaSecrets {
      secrets.append(try Hex.decode32(secret, field: "replicaSecrets"))
    }
    return ClientCredentials(client: client, replicaSecrets: secrets)
  }

  /// Loads an authority file.
  public static func load(from path: String) throws(ConfigError) -> ClientAuthority {
    try JSONFile.load(ClientAuthority.self, from: path)
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
