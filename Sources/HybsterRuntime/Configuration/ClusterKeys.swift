import Crypto
import Foundation
import HybsterCore

/// Generates and writes a cluster's configuration and keys (`hybster config init`).
public enum ClusterSetup {
  /// Fresh random keys for `replicaCount` replicas and the client authority.
  public static func generateKeys(replicaCount: Int) -> (
    replicas: [ReplicaKeys], clients: ClientAuthority
  ) {
    let groupKey = randomKey()
    let secrets = (0..<replicaCount).map { _ in randomKey() }
    let replicas = secrets.enumerated().map { i, secret in
      ReplicaKeys(replica: ReplicaID(i), trinxGroupKey: groupKey, clientSecret: secret)
    }
    return (replicas, ClientAuthority(replicaSecrets: secrets))
  }

  /// Writes `cluster.json`, `replica-<i>.key` and `clients.key` into `directory`.
  public static func write(_ config: ClusterConfig, to directory: String) throws {
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    try config.save(to: configPath(in: directory))
    let keys = generateKeys(replicaCount: config.replicas.count)
    for key in keys.replicas {
      try JSONFile.save(
        key, to: replicaKeyPath(in: directory, replica: key.replica), privateFile: true)
    }
    try JSONFile.save(keys.clients, to: clientKeyPath(in: directory), privateFile: true)
  }

  /// `DIR/cluster.json`.
  public static func configPath(in directory: String) -> String { directory + "/cluster.json" }
  /// `DIR/replica-<id>.key`.
  public static func replicaKeyPath(in directory: String, replica: ReplicaID) -> String {
    directory + "/replica-\(replica).key"
  }
  /// `DIR/clients.key`.
  public static func clientKeyPath(in directory: String) -> String { directory + "/clients.key" }

  private static func randomKey() -> [UInt8] {
    SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
  }
}
