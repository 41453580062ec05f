import Crypto
import Foundation
import HybsterCore

/// A cluster's configuration with fresh keys: every replica's secrets, the public
/// keys clients need in `cluster.json`, and admitted clients (issue 13).
public struct GeneratedCluster: Sendable {
  /// The configuration, each replica's `clientKey` filled in.
  public var config: ClusterConfig
  /// Each replica's secrets, in replica order.
  public var replicas: [ReplicaKeys]
  /// The admitted clients' private keys.
  public var clients: [ClientSecretKeys]

  /// The admitted clients.
  public var directory: ClientDirectory {
    try! ClientDirectory(clients.map(\.publicKeys))
  }

  /// The credentials of admitted client `index` towards this cluster.
  public func credentials(_ index: Int = 0) throws -> ClientCredentials {
    try config.credentials(for: clients[index])
  }
}

/// Generates and writes a cluster's configuration and keys (`hybster config init`).
public enum ClusterSetup {
  /// Fresh random keys for every replica of `config` and `clients` admitted clients.
  public static func generate(_ config: ClusterConfig, clients: Int = 1) -> GeneratedCluster {
    var config = config
    let groupKey = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    var replicas: [ReplicaKeys] = []
    for index in config.replicas.indices {
      let agreement = Curve25519.KeyAgreement.PrivateKey()
      config.replicas[index].clientKey = Hex.encode(Array(agreement.publicKey.rawRepresentation))
      replicas.append(
        ReplicaKeys(
          replica: config.replicas[index].id, trinxGroupKey: groupKey,
          clientAgreementKey: Array(agreement.rawRepresentation)))
    }
    return GeneratedCluster(
      config: config, replicas: replicas,
      clients: (0..<clients).map { _ in ClientSecretKeys.generate() })
  }

  /// Writes `cluster.json`, `replica-<i>.key`, one client key `client.key` and the
  /// clients directory admitting it into `directory`; returns what it wrote.
  @discardableResult
  public static func write(_ config: ClusterConfig, to directory: String) throws
    -> GeneratedCluster
  {
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    let cluster = generate(config)
    try cluster.config.save(to: configPath(in: directory))
    for key in cluster.replicas {
      try JSONFile.save(
        key, to: replicaKeyPath(in: directory, replica: key.replica), privateFile: true)
    }
    try JSONFile.save(
      ClientKeyFile(cluster.clients[0]), to: clientKeyPath(in: directory), privateFile: true)
    try ClientDirectoryFiles.admit(
      cluster.clients[0].publicKeys, name: "client",
      in: ClientDirectoryFiles.path(of: cluster.config, configPath: configPath(in: directory)))
    return cluster
  }

  /// Writes a client's key file `path` (private) and its public key file next to it
  /// (`.key` replaced by `.pub`); returns the public file's path.
  public static func writeClient(_ secret: ClientSecretKeys, to path: String) throws -> String {
    try JSONFile.save(ClientKeyFile(secret), to: path, privateFile: true)
    let base = path.hasSuffix(".key") ? String(path.dropLast(4)) : path
    let publicPath = base + ".pub"
    try JSONFile.save(ClientPublicKeyFile(secret.publicKeys), to: publicPath)
    return publicPath
  }

  /// `DIR/cluster.json`.
  public static func configPath(in directory: String) -> String { directory + "/cluster.json" }
  /// `DIR/replica-<id>.key`.
  public static func replicaKeyPath(in directory: String, replica: ReplicaID) -> String {
    directory + "/replica-\(replica).key"
  }
  /// `DIR/client.key`: the client key `config init` creates and admits.
  public static func clientKeyPath(in directory: String) -> String { directory + "/client.key" }
}

extension ClusterConfig {
  /// The credentials of the client with `secret` towards this cluster.
  public func credentials(for secret: ClientSecretKeys) throws(ConfigError) -> ClientCredentials {
    var replicaKeys: [[UInt8]] = []
    for replica in replicas { replicaKeys.append(try replica.clientKeyBytes()) }
    do {
      return try ClientCredentials(
        secret: secret, replicaKeys: replicaKeys, mode: protocolParameters.clientAuthentication)
    } catch {
      throw .invalidKey(path: "cluster.json", reason: "\(error)")
    }
  }
}
