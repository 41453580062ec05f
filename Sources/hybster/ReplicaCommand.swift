import ArgumentParser
import Foundation
import HybsterCore
import HybsterRuntime
import Logging
import ServiceLifecycle

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `hybster replica`: runs one replica (§5.2) until SIGTERM or SIGINT, which shut it
/// down gracefully through swift-service-lifecycle.
struct ReplicaCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "replica",
    abstract: "Run one replica of a cluster."
  )

  @Option(help: "The cluster configuration (cluster.json).")
  var config: String

  @Option(help: "This replica's id, 0..<n.")
  var id: Int

  @Option(help: "The replica's key file (default: replica-<id>.key next to the config).")
  var keys: String?

  @Option(
    help: ArgumentHelp(
      "Where the replica keeps its journals, snapshots and TrInX counter reservations across restarts (default: the key file's directory).",
      discussion:
        "A restarted replica resumes from these files: its service state, its ordering state and its TrInX counters (README, Durability and restarts). Keep them on durable storage and never copy them between hosts."
    ))
  var dataDir: String?

  @Option(
    help: ArgumentHelp(
      "fsync: journals and snapshots are fsync'd before messages leave, so a power cut loses nothing acknowledged; none: only written (benchmarks).",
      valueName: "fsync|none"))
  var durability: Durability = .fsync

  @Option(help: "Order numbers reserved ahead of the ordering counter per reservation write.")
  var reservationStep: UInt64 = 4096

  @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
  var logLevel: String = "info"

  /// Set by `hybster local`: stdin is a pipe whose write end only the parent holds, so
  /// end-of-file means the parent died and the replica must not outlive it.
  @Flag(help: .hidden)
  var watchParent = false

  func validate() throws {
    guard id >= 0, id <= Int(UInt32.max) else { throw ValidationError("--id must be 0 or more") }
    guard reservationStep >= 2 else {
      throw ValidationError("--reservation-step must be at least 2")
    }
    guard Logger.Level(rawValue: logLevel) != nil else {
      throw ValidationError(
        "--log-level must be one of "
          + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
    }
  }

  func run() async throws {
    try await reportingErrors {
      let cluster = try ClusterConfig.load(from: config)
      let replica = ReplicaID(id)
      guard id < cluster.replicas.count else {
        throw ConfigError.unknownReplica(replica, count: cluster.replicas.count)
      }
      let keyPath =
        keys ?? ClusterSetup.replicaKeyPath(in: Paths.directory(of: config), replica: replica)
      let replicaKeys = try ReplicaKeys.load(from: keyPath)
      guard replicaKeys.replica == replica else {
        throw CLIError(
          "\(keyPath) holds the keys of replica \(replicaKeys.replica), not \(replica)")
      }
      do {
        _ = try replicaKeys.groupKeyBytes()
        _ = try replicaKeys.agreementKeyBytes()
      } catch {
        throw CLIError("invalid key file \(keyPath): \(error)")
      }

      let clients = try ClientDirectoryFiles.load(
        from: ClientDirectoryFiles.path(of: cluster, configPath: config))

      let level = Logger.Level(rawValue: logLevel) ?? .info
      LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
      }
      var logger = Logger(label: "hybster.replica")
      logger[metadataKey: "replica"] = "\(replica)"

      let node = try ReplicaNode(
        config: cluster, id: replica, keys: replicaKeys, clients: clients, logger: logger,
        options: ReplicaNode.Options(
          dataDirectory: dataDir ?? Paths.directory(of: keyPath), durability: durability,
          reservationStep: reservationStep))
      var services = [
        ServiceGroupConfiguration.ServiceConfiguration(
          service: node, successTerminationBehavior: .gracefullyShutdownGroup)
      ]
      if watchParent {
        services.append(
          .init(
            service: ParentWatch(logger: logger),
            successTerminationBehavior: .gracefullyShutdownGroup))
      }
      let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
          services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))

      let address = cluster.replicas[id]
      logger.info(
        "replica starting",
        metadata: [
          "host": "\(address.host)", "peerPort": "\(address.peerPort)",
          "clientPort": "\(address.clientPort)", "replicas": "\(cluster.replicas.count)",
          "service": "\(describe(cluster.service))",
        ])
      do {
        try await group.run()
      } catch {
        throw CLIError("replica \(replica) failed: \(error)")
      }
      logger.info("replica stopped")
    }
  }
}

/// Ends (and so shuts the replica down) when stdin reaches end-of-file: under
/// `hybster local` stdin is a pipe held open by the parent, which closes when the
/// parent exits for any reason, even SIGKILL.
struct ParentWatch: Service {
  let logger: Logger

  func run() async throws {
    let parentGone = AsyncStream<Void> { continuation in
      Thread.detachNewThread {
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
          let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
          if count > 0 || (count < 0 && errno == EINTR) { continue }
          break
        }
        continuation.finish()
      }
    }
    // On a graceful shutdown the stream iteration is cancelled; the reader thread
    // stays blocked in read(2) and ends with the process.
    await cancelWhenGracefulShutdown {
      for await _ in parentGone {}
      if !Task.isCancelled {
        logger.warning("parent process exited; shutting down")
      }
    }
  }
}
