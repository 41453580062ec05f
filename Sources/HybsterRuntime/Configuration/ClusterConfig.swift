import Foundation
import HybsterCore

/// A deployment: the protocol parameters (§5.2), where every replica listens, and
/// which service the group replicates. Stored as JSON (`cluster.json`); holds no
/// secrets — keys live in separate files (``ReplicaKeys``, ``ClientKeyFile``) — and
/// names the directory of admitted clients' public keys (``ClientDirectoryFiles``).
public struct ClusterConfig: Codable, Hashable, Sendable {
  /// One replica's network addresses.
  public struct ReplicaAddress: Codable, Hashable, Sendable {
    /// The replica id (its index).
    public var id: ReplicaID
    /// Host name or IP address.
    public var host: String
    /// Port for replica-to-replica traffic of pillar 0; pillar u listens on
    /// `peerPort + u` (§5.3: each pillar talks to the same pillar of its peers).
    public var peerPort: Int
    /// Port for clients.
    public var clientPort: Int
    /// The replica's X25519 public key, hex: clients derive the MAC key they share
    /// with it from this (``HybsterCore/ClientKeyring``).
    public var clientKey: String

    /// The port pillar `pillar` listens on for its peers' same pillar.
    public func peerPort(pillar: Int) -> Int { peerPort + pillar }

    /// Creates an address.
    public init(id: ReplicaID, host: String, peerPort: Int, clientPort: Int, clientKey: String = "")
    {
      self.id = id
      self.host = host
      self.peerPort = peerPort
      self.clientPort = clientPort
      self.clientKey = clientKey
    }

    /// The decoded ``clientKey``.
    public func clientKeyBytes() throws(ConfigError) -> [UInt8] {
      try Hex.decode32(clientKey, field: "replicas[\(id)].clientKey")
    }
  }

  /// The file format version.
  public var version: Int
  /// Protocol parameters shared by all replicas.
  public var protocolParameters: ProtocolConfiguration
  /// Every replica, in id order.
  public var replicas: [ReplicaAddress]
  /// The replicated service.
  public var service: ServiceKind
  /// Timers of the runtime shell.
  public var timing: Timing
  /// The directory of admitted clients' public key files (`*.pub`), relative to
  /// the configuration file's directory unless absolute (issue 13).
  public var clients: String

  /// Timer settings (the core reads no clock; these drive its inputs).
  public struct Timing: Codable, Hashable, Sendable {
    /// Period of ``HybsterCore/PillarInput/tick`` (retransmission), milliseconds.
    public var tickMilliseconds: Int
    /// Batch flush delay, microseconds.
    public var batchFlushMicroseconds: Int
    /// Client retransmission timeout, milliseconds.
    public var clientRetransmitMilliseconds: Int

    /// Creates timer settings.
    public init(
      tickMilliseconds: Int = 50, batchFlushMicroseconds: Int = 500,
      clientRetransmitMilliseconds: Int = 1000
    ) {
      self.tickMilliseconds = tickMilliseconds
      self.batchFlushMicroseconds = batchFlushMicroseconds
      self.clientRetransmitMilliseconds = clientRetransmitMilliseconds
    }
  }

  /// The current file format version.
  public static let currentVersion = 2

  /// Creates a configuration.
  public init(
    protocolParameters: ProtocolConfiguration, replicas: [ReplicaAddress],
    service: ServiceKind = .microbenchmark(replySize: 0), timing: Timing = Timing(),
    clients: String = "clients"
  ) {
    self.clients = clients
    self.version = Self.currentVersion
    self.protocolParameters = protocolParameters
    self.replicas = replicas
    self.service = service
    self.timing = timing
  }

  /// A loopback cluster of `replicaCount` replicas on consecutive ports from `basePort`:
  /// per replica, one peer port per pillar, then its client port
  /// (``portsPerReplica(pillars:)`` in all).
  public static func loopback(
    replicaCount: Int, basePort: Int, host: String = "127.0.0.1",
    protocolParameters: ProtocolConfiguration? = nil,
    service: ServiceKind = .microbenchmark(replySize: 0)
  ) -> ClusterConfig {
    let parameters = protocolParameters ?? ProtocolConfiguration(replicaCount: replicaCount)
    let stride = portsPerReplica(pillars: parameters.pillarCount)
    let replicas = (0..<replicaCount).map { i in
      ReplicaAddress(
        id: ReplicaID(i), host: host, peerPort: basePort + stride * i,
        clientPort: basePort + stride * i + stride - 1)
    }
    return ClusterConfig(protocolParameters: parameters, replicas: replicas, service: service)
  }

  /// The ports one replica of a loopback cluster uses: one per pillar, one for clients.
  public static func portsPerReplica(pillars: Int) -> Int { pillars + 1 }

  /// Checks the whole configuration; the error says what is wrong.
  public func validate() throws(ConfigError) {
    guard version == Self.currentVersion else { throw .unsupportedVersion(version) }
    guard !clients.isEmpty else { throw .emptyClientsDirectory }
    do { try protocolParameters.validate() } catch { throw .protocolParameters(error) }
    guard replicas.count == protocolParameters.replicaCount else {
      throw .replicaCountMismatch(
        listed: replicas.count, parameter: protocolParameters.replicaCount)
    }
    for (index, replica) in replicas.enumerated() {
      guard replica.id == ReplicaID(index) else {
        throw .replicaOrder(index: index, id: replica.id)
      }
      let lastPeerPort = replica.peerPort(pillar: protocolParameters.pillarCount - 1)
      for port in [replica.peerPort, lastPeerPort, replica.clientPort]
      where !(1...65_535).contains(port) {
        throw .invalidPort(replica: replica.id, port: port)
      }
      guard !replica.host.isEmpty else { throw .emptyHost(replica: replica.id) }
    }
    guard timing.tickMilliseconds > 0, timing.clientRetransmitMilliseconds > 0,
      timing.batchFlushMicroseconds >= 0
    else { throw .invalidTiming }
    if case .microbenchmark(let size) = service, !(0...(16 << 20)).contains(size) {
      throw .invalidReplySize(size)
    }
  }

  /// Loads and validates a configuration file.
  public static func load(from path: String) throws(ConfigError) -> ClusterConfig {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw .unreadable(path: path, reason: error.localizedDescription)
    }
    struct Version: Decodable { var version: Int }
    if let probe = try? JSONDecoder().decode(Version.self, from: data),
      probe.version != currentVersion
    {
      throw .unsupportedVersion(probe.version)
    }
    let config: ClusterConfig
    do { config = try JSONDecoder().decode(ClusterConfig.self, from: data) } catch {
      throw .malformed(path: path, reason: "\(error)")
    }
    try config.validate()
    return config
  }

  /// Writes the configuration as pretty-printed JSON.
  public func save(to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(self).write(to: URL(fileURLWithPath: path))
  }
}

/// Which service the replicas run (§6.2 microbenchmark; a key-value store).
public enum ServiceKind: Codable, Hashable, Sendable {
  /// The paper's microbenchmark: no computation, a reply of `replySize` bytes.
  case microbenchmark(replySize: Int)
  /// The key-value store (get/put/delete/cas).
  case keyValue
}

/// What is wrong with a cluster configuration or key file.
public enum ConfigError: Error, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case malformed(path: String, reason: String)
  case unsupportedVersion(Int)
  case protocolParameters(ConfigurationError)
  case replicaCountMismatch(listed: Int, parameter: Int)
  case replicaOrder(index: Int, id: ReplicaID)
  case invalidPort(replica: ReplicaID, port: Int)
  case emptyHost(replica: ReplicaID)
  case invalidTiming
  case invalidReplySize(Int)
  case unknownReplica(ReplicaID, count: Int)
  case invalidKey(path: String, reason: String)
  case emptyClientsDirectory
  case clientDirectory(path: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
    case .malformed(let path, let reason): "\(path) is not a valid file of this kind: \(reason)"
    case .unsupportedVersion(let v):
      "unsupported config version \(v) (expected \(ClusterConfig.currentVersion)); version 2"
        + " added per-client keys (issue 13): create a new one with `hybster config init`"
    case .protocolParameters(let e): "invalid protocol parameters: \(e)"
    case .replicaCountMismatch(let listed, let parameter):
      "\(listed) replicas listed but replicaCount is \(parameter)"
    case .replicaOrder(let index, let id):
      "replica at position \(index) has id \(id); ids must be 0..n-1 in order"
    case .invalidPort(let r, let p): "replica \(r): port \(p) is not in 1...65535"
    case .emptyHost(let r): "replica \(r): empty host"
    case .invalidTiming: "timing values must be positive"
    case .invalidReplySize(let s): "microbenchmark reply size \(s) must be between 0 and 16 MiB"
    case .unknownReplica(let id, let count):
      "replica id \(id) is not in this \(count)-replica cluster"
    case .invalidKey(let path, let reason): "invalid key file \(path): \(reason)"
    case .emptyClientsDirectory: "clients (the admitted clients' directory) must not be empty"
    case .clientDirectory(let path, let reason): "clients directory \(path): \(reason)"
    }
  }
}
