import HybsterCore
import HybsterServices
import HybsterWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TrInX

/// One Hybster replica process (HybsterS: one ordering pillar, §5.2; §6 "an
/// additional thread for the execution stage"). A swift-service-lifecycle
/// `Service`: `run()` serves until graceful shutdown (SIGTERM in `hybster replica`).
///
/// Threads: one event loop owns the ordering pillar and every replica connection;
/// a second owns the execution stage and every client connection. Work crosses
/// between them in batches, once per event-loop turn.
public final class ReplicaNode: Service, Sendable {
  /// The cluster configuration.
  public let config: ClusterConfig
  /// This replica's id.
  public let id: ReplicaID
  private let groupKey: [UInt8]
  private let clientSecret: [UInt8]
  private let logger: Logger

  /// Creates a replica; validates the configuration and the keys.
  public init(config: ClusterConfig, id: ReplicaID, keys: ReplicaKeys, logger: Logger)
    throws(ConfigError)
  {
    try config.validate()
    guard Int(id) < config.replicas.count else {
      throw .unknownReplica(id, count: config.replicas.count)
    }
    guard keys.replica == id else {
      throw .invalidKey(
        path: "replica key", reason: "keys are for replica \(keys.replica), not \(id)")
    }
    self.config = config
    self.id = id
    self.groupKey = try keys.groupKeyBytes()
    self.clientSecret = try keys.clientSecretBytes()
    var logger = logger
    logger[metadataKey: "replica"] = "\(id)"
    self.logger = logger
  }

  /// Serves until graceful shutdown or cancellation.
  public func run() async throws {
    switch config.service {
    case .microbenchmark(let replySize):
      try await serve(MicrobenchmarkService(replySize: replySize))
    case .keyValue:
      try await serve(KeyValueStore())
    }
  }

  private func serve<S: ReplicatedService>(_ service: S) async throws {
    let orderingGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let executionGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
      try await serve(service, orderingGroup: orderingGroup, executionGroup: executionGroup)
    } catch {
      try? await orderingGroup.shutdownGracefully()
      try? await executionGroup.shutdownGracefully()
      throw error
    }
    try? await orderingGroup.shutdownGracefully()
    try? await executionGroup.shutdownGracefully()
  }

  private func serve<S: ReplicatedService>(
    _ service: S, orderingGroup: MultiThreadedEventLoopGroup,
    executionGroup: MultiThreadedEventLoopGroup
  ) async throws {
    let parameters = config.protocolParameters
    let trinx = try TrInXInstance(
      id: parameters.trinxInstances[Int(id)], counterCount: CounterLayout.count, key: groupKey)
    let pillar = OrderingPillar(
      configuration: parameters, replica: id, trinx: trinx,
      keyring: ClientKeyring(replicaSecret: clientSecret))
    let stage = ExecutionStage(
      service: service, replica: id, checkpointInterval: parameters.checkpointInterval,
      keyring: ClientKeyring(replicaSecret: clientSecret))

    let orderingLoop = orderingGroup.next()
    let executionLoop = executionGroup.next()
    let ordering = OrderingDriver(
      pillar: pillar, eventLoop: orderingLoop, timing: config.timing, logger: logger)
    let execution = ExecutionDriver(
      stage: stage, eventLoop: executionLoop, ordering: ordering, logger: logger)
    let orderingBox = UnsafeTransfer(ordering)
    let executionBox = UnsafeTransfer(execution)
    try await orderingLoop.submit { orderingBox.value.execution = executionBox.value }.get()

    let address = config.replicas[Int(id)]
    let replicaCount = config.replicas.count
    let logger = self.logger
    let peerServer = try await ServerBootstrap(group: orderingGroup)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(FrameDecoder()),
            PeerInboundHandler(
              ordering: orderingBox.value, replicaCount: replicaCount, logger: logger))
        }
      }
      .bind(host: address.host, port: address.peerPort).get()
    let clientServer = try await ServerBootstrap(group: executionGroup)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(FrameDecoder()),
            ClientInboundHandler(execution: executionBox.value, logger: logger))
        }
      }
      .bind(host: address.host, port: address.clientPort).get()

    try await orderingLoop.submit {
      orderingBox.value.start(addresses: self.config.replicas)
    }.get()
    logger.info(
      "replica \(id) serving: replicas on \(address.host):\(address.peerPort), clients on \(address.host):\(address.clientPort)"
    )

    // Serve until graceful shutdown (inside a ServiceGroup) or task cancellation.
    let (stopped, stop) = AsyncStream<Void>.makeStream()
    await withTaskCancellationOrGracefulShutdownHandler {
      for await _ in stopped {}
    } onCancelOrGracefulShutdown: {
      stop.finish()
    }

    logger.info("replica \(id) shutting down")
    try? await clientServer.close()
    try? await peerServer.close()
    let counters = try await orderingLoop.submit {
      orderingBox.value.stop()
      return orderingBox.value.counters
    }.get()
    logger.info(
      "replica \(id) stopped: \(counters.delivered) instances delivered, \(counters.rejected) inputs rejected"
    )
  }
}
