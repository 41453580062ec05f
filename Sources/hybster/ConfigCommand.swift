import ArgumentParser
import Foundation
import HybsterCore
import HybsterRuntime

/// `hybster config`: cluster configuration files.
struct ConfigCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config",
    abstract: "Create cluster configuration files.",
    subcommands: [ConfigInitCommand.self]
  )
}

extension ClientAuthMode: ExpressibleByArgument {}

/// Which replicated service a new cluster runs.
enum ServiceChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
  /// The paper's microbenchmark (§6.2): no computation, a fixed-size reply.
  case microbenchmark
  /// The key-value store.
  case kv

  /// The configuration value, with `replySize` for the microbenchmark.
  func kind(replySize: Int) -> ServiceKind {
    switch self {
    case .microbenchmark: .microbenchmark(replySize: replySize)
    case .kv: .keyValue
    }
  }
}

/// The protocol and service settings that `config init` and `local` share.
struct ClusterOptions: ParsableArguments {
  private static let defaults = ProtocolConfiguration(replicaCount: 3)

  @Option(help: "Requests ordered per consensus instance at most (1 = no batching).")
  var batch: Int = defaults.maxBatchSize

  @Option(help: "Instances the leader keeps proposed but uncommitted at most.")
  var inFlight: Int = defaults.maxInFlight

  @Option(
    help: """
      Ordering pillars per replica (§5.3), each on its own thread with its own TrInX \
      instance; 1 is the sequential HybsterS. Default: the cores of a replica's host \
      (`local`: the cores divided among its replicas).
      """)
  var pillars: Int?

  @Flag(
    help: """
      Rotate the leader role over the replicas (pillar u of view v is led by replica \
      (v+u) mod n): with at least as many pillars as replicas, every replica proposes.
      """)
  var rotate = false

  @Option(
    help:
      "Order numbers between checkpoints (K), a multiple of --pillars. Default: 128 rounded up to a multiple of --pillars."
  )
  var checkpointInterval: UInt64?

  @Option(help: "Ordering window in order numbers; a multiple of K, at least 2K. Default: 4K.")
  var window: UInt64?

  @Option(
    help: """
      How replicas authenticate requests: signatures (Ed25519; no replica can get a request \
      executed that its client did not send) or macs (faster, but a Byzantine leader can \
      invent requests through a view change).
      """)
  var clientAuth: ClientAuthMode = .signatures

  /// The pillar count: as given, or one per core of a host that runs
  /// `replicasPerHost` replicas.
  func pillarCount(replicasPerHost: Int) -> Int {
    pillars ?? min(64, max(1, ProcessInfo.processInfo.activeProcessorCount / replicasPerHost))
  }

  /// Protocol parameters for `replicas` replicas, `replicasPerHost` of them on one host.
  func protocolParameters(replicas: Int, replicasPerHost: Int = 1) -> ProtocolConfiguration {
    let pillars = pillarCount(replicasPerHost: replicasPerHost)
    let p = UInt64(max(pillars, 1))
    let k = checkpointInterval ?? (Self.defaults.checkpointInterval + p - 1) / p * p
    return ProtocolConfiguration(
      replicaCount: replicas, checkpointInterval: k, windowSize: window ?? 4 * k,
      maxBatchSize: batch, maxInFlight: inFlight, pillarCount: pillars, rotateLeaders: rotate,
      clientAuthentication: clientAuth)
  }
}

/// `hybster config init`: writes `cluster.json`, `replica-<i>.key`, a first client's
/// key `client.key` and the clients directory admitting it, for a new cluster with consecutive ports (peer port, then client port, per replica).
struct ConfigInitCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "init",
    abstract: "Write cluster.json and fresh keys for a new cluster."
  )

  @Option(help: "Number of replicas, n = 2f+1.")
  var replicas: Int = 3

  @Option(
    help:
      "First port; replica i listens on P+1 consecutive ports from base+(P+1)i: one per pillar, then clients."
  )
  var basePort: Int = 7000

  @Option(help: "Directory to write the files into (created if missing).")
  var out: String

  @OptionGroup var cluster: ClusterOptions

  @Option(help: "The replicated service.")
  var service: ServiceChoice = .microbenchmark

  @Option(help: "Microbenchmark reply size in bytes.")
  var replySize: Int = 0

  @Option(help: "Host or IP address of every replica.")
  var host: String = "127.0.0.1"

  @Flag(help: "Overwrite an existing cluster.json (and its keys) in the directory.")
  var force = false

  func validate() throws {
    guard (1...255).contains(replicas) else {
      throw ValidationError("--replicas must be between 3 and 255 (n = 2f+1)")
    }
  }

  func run() async throws {
    try await reportingErrors {
      let config = ClusterConfig.loopback(
        replicaCount: replicas, basePort: basePort, host: host,
        protocolParameters: cluster.protocolParameters(replicas: replicas),
        service: service.kind(replySize: replySize))
      try config.validate()

      let configPath = ClusterSetup.configPath(in: out)
      if !force, FileManager.default.fileExists(atPath: configPath) {
        throw CLIError("\(configPath) already exists; pass --force to replace it and its keys")
      }
      do {
        try ClusterSetup.write(config, to: out)
      } catch {
        throw CLIError("cannot write the cluster files into \(out): \(error.localizedDescription)")
      }

      let parameters = config.protocolParameters
      print(
        "wrote \(configPath): \(parameters.replicaCount) replicas (f = "
          + "\(parameters.faultsTolerated)), batch \(parameters.maxBatchSize), in-flight "
          + "\(parameters.maxInFlight), checkpoint every \(parameters.checkpointInterval), window "
          + "\(parameters.windowSize), \(parameters.pillarCount) pillar(s)"
          + (parameters.rotateLeaders ? " with rotating leaders" : "") + ", service "
          + describe(config.service))
      for replica in config.replicas {
        print(
          "wrote \(ClusterSetup.replicaKeyPath(in: out, replica: replica.id)): replica \(replica.id) "
            + "at \(replica.host), peer port(s) \(replica.peerPort)"
            + (parameters.pillarCount > 1
              ? "-\(replica.peerPort(pillar: parameters.pillarCount - 1))" : "")
            + ", client port \(replica.clientPort)"
        )
      }
      print(
        "wrote \(ClusterSetup.clientKeyPath(in: out)): a client key (keep it private), admitted "
          + "in \(out)/\(config.clients)/client.pub; add clients with `hybster client new`")
      print("start replica i with: hybster replica --config \(configPath) --id i")
    }
  }
}
