import Foundation
import HybsterCore
import HybsterServices
import HybsterWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TrInX

/// One Hybster replica process: P ordering pillars (§5.3; P = 1 is HybsterS, §5.2)
/// and the execution stage (§6: "an additional thread for the execution stage"). A
/// swift-service-lifecycle `Service`: `run()` serves until graceful shutdown
/// (SIGTERM in `hybster replica`).
///
/// Threads: one event loop per pillar owns that pillar, its TrInX instance and its
/// connections to the same pillar of every peer; one more owns the execution stage,
/// the pillar coordinator and every client connection. Work crosses between them in
/// batches, once per event-loop turn; no lock is taken on the way.
public final class ReplicaNode: Service, Sendable {
  /// The cluster configuration.
  public let config: ClusterConfig
  /// This replica's id.
  public let id: ReplicaID
  private let groupKey: [UInt8]
  private let clientSecret: [UInt8]
  private let logger: Logger
  /// Where the replica keeps state across restarts, and state-transfer knobs.
  public let options: Options

  /// What a replica keeps across restarts and how it transfers state.
  public struct Options: Sendable {
    /// The directory holding `replica-<id>.counter`, the TrInX ordering counter's
    /// reservation (see `docs/trinx.md`). `nil`: no reservation is kept, and the
    /// counters start at zero on every start, so the replica must not rejoin the same
    /// group with the same keys after a restart.
    public var dataDirectory: String?
    /// How far ahead of the ordering counter a reservation reaches (in order numbers).
    /// After a crash the replica cannot vote on order numbers up to its last
    /// reservation, at most this many beyond what it certified before.
    public var reservationStep: UInt64
    /// State transfer (§5.2.2).
    public var stateTransfer: StateTransferOptions
    /// Called (on the ordering thread) after state transfer installed a checkpoint.
    public var onStateInstalled: (@Sendable (StateInstalled) -> Void)?
    /// The bounds on client connections (issue 11); peer ports allow a few
    /// connections per replica.
    public var clientConnections: ConnectionLimits

    /// Creates options.
    public init(
      dataDirectory: String? = nil, reservationStep: UInt64 = 4096,
      stateTransfer: StateTransferOptions = StateTransferOptions(),
      clientConnections: ConnectionLimits = .clients,
      onStateInstalled: (@Sendable (StateInstalled) -> Void)? = nil
    ) {
      self.clientConnections = clientConnections
      self.onStateInstalled = onStateInstalled
      self.dataDirectory = dataDirectory
      self.reservationStep = reservationStep
      self.stateTransfer = stateTransfer
    }

    /// The reservation file of pillar `pillar` of `replica` in `directory`.
    public static func reservationPath(
      in directory: String, replica: ReplicaID, pillar: Int = 0
    ) -> String {
      let name = pillar == 0 ? "replica-\(replica).counter" : "replica-\(replica)-\(pillar).counter"
      return (directory as NSString).appendingPathComponent(name)
    }
  }

  /// A completed state transfer (§5.2.2).
  public struct StateInstalled: Sendable, Hashable {
    /// The checkpoint's order number.
    public var order: OrderNumber
    /// The encoded snapshot's size.
    public var bytes: UInt64
    /// From the request to the installed state.
    public var milliseconds: Int64
    /// Sources asked, the successful one included.
    public var attempts: Int
  }

  /// Creates a replica; validates the configuration and the keys.
  public init(
    config: ClusterConfig, id: ReplicaID, keys: ReplicaKeys, logger: Logger,
    options: Options = Options()
  )
    throws(ConfigError)
  {
    self.options = options
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

  /// The TrInX instance, restored from and limited by the reservation file when a
  /// data directory is configured (§5.1; `docs/trinx.md`).
  private func openTrInX(instance: TrInXInstanceID, pillar: Int) throws -> TrInXInstance {
    guard let directory = options.dataDirectory else {
      return try TrInXInstance(id: instance, counterCount: CounterLayout.count, key: groupKey)
    }
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
    let writer = FileReservationWriter(
      path: Options.reservationPath(in: directory, replica: id, pillar: pillar), instance: instance,
      key: groupKey)
    let restored = try writer.load()
    let reservation = try CounterReservation.open(
      counter: CounterLayout.ordering, step: options.reservationStep, restored: restored,
      writer: writer)
    var counters = Array(repeating: CounterValue.zero, count: CounterLayout.count)
    counters[Int(CounterLayout.ordering)] = restored ?? .zero
    var trinx = try TrInXInstance(
      id: instance, counterCount: CounterLayout.count, key: groupKey, restoredCounters: counters)
    try trinx.limitCertification(reservation.limit, store: reservation)
    if let restored {
      logger.notice(
        "restarted: pillar \(pillar)'s ordering counter restored to its reservation \(restored); reserved up to \(reservation.durable)"
      )
    }
    return trinx
  }

  private func serve<S: ReplicatedService>(_ service: S) async throws {
    let orderingGroup = MultiThreadedEventLoopGroup(
      numberOfThreads: config.protocolParameters.pillarCount)
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
    let stage = ExecutionStage(
      service: service, replica: id, checkpointInterval: parameters.checkpointInterval,
      keyring: ClientKeyring(replicaSecret: clientSecret))
    var drivers: [OrderingDriver] = []
    for index in 0..<parameters.pillarCount {
      let trinx = try openTrInX(
        instance: parameters.trinxInstance(of: id, pillar: index), pillar: index)
      let pillar = OrderingPillar(
        configuration: parameters, replica: id, pillar: index, trinx: trinx,
        keyring: ClientKeyring(replicaSecret: clientSecret))
      var pillarLogger = logger
      if parameters.pillarCount > 1 { pillarLogger[metadataKey: "pillar"] = "\(index)" }
      let driver = OrderingDriver(
        pillar: pillar, eventLoop: orderingGroup.next(), timing: config.timing,
        stateTransfer: options.stateTransfer, logger: pillarLogger)
      driver.onStateInstalled = options.onStateInstalled
      drivers.append(driver)
    }
    let execution = ExecutionDriver(
      stage: stage, eventLoop: executionGroup.next(), pillars: drivers,
      maxParked: 2 * Int(parameters.windowSize), logger: logger)
    let executionBox = UnsafeTransfer(execution)
    let address = config.replicas[Int(id)]
    let logger = self.logger
    let authentication = try PeerAuthentication(
      replica: id, configuration: parameters, groupKey: groupKey)
    var peerServers: [any Channel] = []
    for driver in drivers {
      let box = UnsafeTransfer(driver)
      try await driver.eventLoop.submit { box.value.execution = executionBox.value }.get()
      let port = address.peerPort(pillar: driver.index)
      let gate = ConnectionGate(
        limits: .peers(replicaCount: config.replicas.count), port: "peer port \(port)",
        logger: logger)
      peerServers.append(
        try await Self.listen(
          group: driver.eventLoop, host: address.host, port: port, gate: gate,
          verifier: authentication.verifier
        ) {
          PeerInboundHandler(ordering: box.value, logger: logger)
        })
    }
    let clientGate = ConnectionGate(
      limits: options.clientConnections, port: "client port \(address.clientPort)",
      logger: logger)
    let clientServer = try await Self.listen(
      group: executionGroup, host: address.host, port: address.clientPort, gate: clientGate,
      verifier: ClientAuthentication(replica: id, replicaSecret: clientSecret).verifier,
      limits: ClientAuthentication.frameLimits(parameters)
    ) {
      ClientInboundHandler(execution: executionBox.value, logger: logger)
    }
    for driver in drivers {
      let box = UnsafeTransfer(driver)
      let addresses = config.replicas
      try await driver.eventLoop.submit {
        box.value.start(addresses: addresses, authentication: authentication)
      }.get()
    }
    logger.info(
      "replica \(id) serving with \(drivers.count) pillar(s): replicas on \(address.host):\(address.peerPort)\(drivers.count > 1 ? "-\(address.peerPort(pillar: drivers.count - 1))" : ""), clients on \(address.host):\(address.clientPort)"
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
    var counters = RuntimeCounters()
    for (driver, server) in zip(drivers, peerServers) {
      try? await server.close()
      let box = UnsafeTransfer(driver)
      counters =
        counters
        + (try await driver.eventLoop.submit {
          box.value.stop()
          return box.value.counters
        }.get())
    }
    logger.info(
      "replica \(id) stopped: \(counters.delivered) instances delivered, \(counters.rejected) inputs rejected"
    )
  }

  /// A TCP server whose connections, within `gate`'s limits, complete a handshake
  /// that `verifier` checks and then decode frames into `handler()`, one per
  /// connection.
  private static func listen<Handler: ChannelInboundHandler>(
    group: any EventLoopGroup, host: String, port: Int, gate: ConnectionGate,
    verifier: InboundHandshake.Verifier, limits: WireLimits = .default,
    handler: @escaping @Sendable () -> Handler
  ) async throws -> any Channel where Handler.InboundIn == WireMessage {
    try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let progress = HandshakeProgress()
          try channel.pipeline.syncOperations.addHandlers(
            SlowFrameGuard(timeout: gate.limits.frameTimeout, gate: gate),
            ByteToMessageHandler(FrameDecoder(limits: limits, handshake: progress)),
            InboundHandshake(verifier: verifier, gate: gate, progress: progress), handler())
        }
      }
      .bind(host: host, port: port).get()
  }
}
