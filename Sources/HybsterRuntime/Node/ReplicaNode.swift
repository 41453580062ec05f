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
  /// The keys this replica shares with the admitted clients (issue 13).
  private let keyring: ClientKeyring
  private let logger: Logger
  /// Where the replica keeps state across restarts, and state-transfer knobs.
  public let options: Options

  /// What a replica keeps across restarts and how it transfers state.
  public struct Options: Sendable {
    /// The directory holding what the replica keeps across restarts (issue 12): each
    /// pillar's journal (`replica-<id>-pillar-<u>-*.log`), the snapshots of its last
    /// checkpoints (`replica-<id>-*.snap`) and the TrInX ordering counters'
    /// reservations (`replica-<id>.counter`, see `docs/trinx.md`). `nil`: nothing is
    /// kept, and the replica must not rejoin the same group with the same keys after
    /// a restart.
    public var dataDirectory: String?
    /// ``Durability/fsync`` (the default): journals and snapshots are fsync'd
    /// before messages leave, and a restart resumes from them.
    /// ``Durability/none`` (benchmarks): only the TrInX reservations are kept; a
    /// restarted replica starts empty, with its counters above anything it certified,
    /// and fetches the state from its peers, so a whole-cluster restart loses
    /// everything.
    public var durability: Durability
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
      dataDirectory: String? = nil, durability: Durability = .fsync,
      reservationStep: UInt64 = 4096,
      stateTransfer: StateTransferOptions = StateTransferOptions(),
      clientConnections: ConnectionLimits = .clients,
      onStateInstalled: (@Sendable (StateInstalled) -> Void)? = nil
    ) {
      self.clientConnections = clientConnections
      self.onStateInstalled = onStateInstalled
      self.dataDirectory = dataDirectory
      self.durability = durability
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

  /// Creates a replica admitting the clients of `clients`; validates the
  /// configuration and the keys.
  public init(
    config: ClusterConfig, id: ReplicaID, keys: ReplicaKeys, clients: ClientDirectory,
    logger: Logger, options: Options = Options()
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
    do {
      keyring = try ClientKeyring(
        replica: id, agreementKey: try keys.agreementKeyBytes(), directory: clients)
    } catch let error as ConfigError {
      throw error
    } catch {
      throw .invalidKey(path: "replica key", reason: "\(error)")
    }
    guard keyring.publicKey == (try config.replicas[Int(id)].clientKeyBytes()) else {
      throw .invalidKey(
        path: "replica key",
        reason:
          "its clientAgreementKey does not match replica \(id)'s clientKey in the configuration")
    }
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

  /// A pillar, restarted from its journal when a data directory is configured
  /// (issue 12), with its TrInX instance limited by the reservation file (§5.1;
  /// `docs/trinx.md`).
  ///
  /// The journal gives the exact last released counter value. A journal damaged in
  /// its middle cannot be trusted to hold every released message: it is discarded,
  /// and the pillar restarts as a new one whose counter is at its reservation, above
  /// anything it may have certified; it takes part again once it enters a later
  /// view, and state transfer brings its service state.
  private func openPillar(
    _ index: Int, executedThrough: OrderNumber
  ) throws -> (OrderingPillar, PillarJournal?) {
    let parameters = config.protocolParameters
    let instance = parameters.trinxInstance(of: id, pillar: index)
    let clients = RequestAuthenticator(
      keyring: keyring, mode: parameters.clientAuthentication)
    guard let directory = options.dataDirectory else {
      let trinx = try TrInXInstance(id: instance, counterCount: CounterLayout.count, key: groupKey)
      return (
        OrderingPillar(
          configuration: parameters, replica: id, pillar: index, trinx: trinx, clients: clients),
        nil
      )
    }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let writer = FileReservationWriter(
      path: Options.reservationPath(in: directory, replica: id, pillar: index),
      instance: instance, key: groupKey)
    let reserved = try writer.load()
    guard options.durability == .fsync else {
      // In memory: a new replica whose counter is above anything it certified.
      let start = PillarRecovery(counterOnly: reserved ?? .zero)
      let trinx = try limitedTrInX(
        instance, counter: start.counter, reserved: reserved, writer: writer)
      var pillar = OrderingPillar(
        recovering: start, configuration: parameters, replica: id, pillar: index, trinx: trinx,
        clients: clients, executedThrough: 0)
      pillar.journaling = false
      return (pillar, nil)
    }
    let opened = try PillarJournal.open(
      directory: directory, replica: id, pillar: index, durability: options.durability)
    for damage in opened.damage { logger.warning("journal of pillar \(index): \(damage)") }
    var recovered = opened.journal.state
    if opened.discarded {
      let bound = max(reserved ?? .zero, recovered.counter)
      recovered = PillarRecovery(counterOnly: bound)
      try opened.journal.rewrite(recovered)
      logger.error(
        "journal of pillar \(index) is corrupt and was discarded; restarting with its counter at \(bound), above anything it certified: it rejoins at the next view change"
      )
    } else if !recovered.isEmpty {
      logger.notice(
        "pillar \(index) restarted from its journal: view \(recovered.acceptedView), checkpoint \(recovered.lowWaterMark), counter \(recovered.counter)"
      )
    }
    let pillar = OrderingPillar(
      recovering: recovered, configuration: parameters, replica: id, pillar: index,
      trinx: try limitedTrInX(
        instance, counter: recovered.counter, reserved: reserved, writer: writer),
      clients: clients,
      executedThrough: parameters.layout.localCheckpoint(ofGlobal: executedThrough))
    return (pillar, opened.journal)
  }

  /// A TrInX instance whose ordering counter starts at `counter` and may pass a
  /// durable reservation only (§5.1): a new one is written beyond both `counter`
  /// and the previous reservation before anything is certified.
  private func limitedTrInX(
    _ instance: TrInXInstanceID, counter: CounterValue, reserved: CounterValue?,
    writer: FileReservationWriter
  ) throws -> TrInXInstance {
    let reservation = try CounterReservation.open(
      counter: CounterLayout.ordering, step: options.reservationStep,
      restored: max(reserved ?? .zero, counter), writer: writer)
    var counters = Array(repeating: CounterValue.zero, count: CounterLayout.count)
    counters[Int(CounterLayout.ordering)] = counter
    var trinx = try TrInXInstance(
      id: instance, counterCount: CounterLayout.count, key: groupKey, restoredCounters: counters)
    try trinx.limitCertification(reservation.limit, store: reservation)
    return trinx
  }

  /// The snapshot store and the service state restored from its newest snapshot
  /// that verifies (issue 12); damaged ones are reported and set aside, and state
  /// transfer fetches what is missing.
  private func openSnapshots<S: ReplicatedService>(
    into stage: inout ExecutionStage<S>
  ) throws -> SnapshotStore? {
    guard let directory = options.dataDirectory, options.durability == .fsync else { return nil }
    var store = try SnapshotStore(
      directory: directory, prefix: "replica-\(id)", durability: options.durability)
    let latest = try store.latest()
    for damage in store.damage { logger.warning("snapshot: \(damage)") }
    guard let latest else { return store }
    do {
      let snapshot = try SnapshotCodec.decode(ByteBuffer(bytes: latest.bytes))
      try stage.install(snapshot)
      logger.notice("service state restored from the snapshot at \(snapshot.order)")
    } catch {
      logger.error(
        "snapshot at \(latest.order) does not decode (\(error)); state transfer fetches the state")
      return store
    }
    // The older ones kept (from the last stable checkpoint on) serve state transfer:
    // a replica behind can fetch only the group's stable checkpoint.
    let reported = store.damage.count
    for older in try store.verified(olderThan: latest.order) {
      if let snapshot = try? SnapshotCodec.decode(ByteBuffer(bytes: older.bytes)) {
        stage.keep(snapshot)
      }
    }
    for damage in store.damage.dropFirst(reported) { logger.warning("snapshot: \(damage)") }
    return store
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
    var stage = ExecutionStage(
      service: service, replica: id, checkpointInterval: parameters.checkpointInterval,
      keyring: keyring)
    let snapshotStore = try openSnapshots(into: &stage)
    var drivers: [OrderingDriver] = []
    for index in 0..<parameters.pillarCount {
      let (pillar, journal) = try openPillar(index, executedThrough: stage.lastExecuted)
      var pillarLogger = logger
      if parameters.pillarCount > 1 { pillarLogger[metadataKey: "pillar"] = "\(index)" }
      let driver = OrderingDriver(
        pillar: pillar, eventLoop: orderingGroup.next(), timing: config.timing,
        stateTransfer: options.stateTransfer, logger: pillarLogger)
      driver.onStateInstalled = options.onStateInstalled
      driver.journal = journal
      drivers.append(driver)
    }
    let coordinator = PillarCoordinator(
      configuration: parameters, replica: id, executedThrough: stage.lastExecuted,
      restored: drivers.map(\.pillar))
    let execution = ExecutionDriver(
      stage: stage, coordinator: coordinator, eventLoop: executionGroup.next(), pillars: drivers,
      snapshotStore: snapshotStore, maxParked: 2 * Int(parameters.windowSize), logger: logger)
    let executionBox = UnsafeTransfer(execution)
    let address = config.replicas[Int(id)]
    let logger = self.logger
    let authentication = try PeerAuthentication(
      replica: id, configuration: parameters, groupKey: groupKey, clients: keyring.directory)
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
          verifier: authentication.verifier,
          limits: WireLimits(maxFrameLength: parameters.maxPeerFrameBytes)
        ) {
          PeerInboundHandler(ordering: box.value, logger: logger)
        })
    }
    let clientGate = ConnectionGate(
      limits: options.clientConnections, port: "client port \(address.clientPort)",
      logger: logger)
    let clientServer = try await Self.listen(
      group: executionGroup, host: address.host, port: address.clientPort, gate: clientGate,
      verifier: ClientAuthentication(keyring: keyring).verifier,
      limits: ClientAuthentication.frameLimits(parameters)
    ) {
      ClientInboundHandler(
        execution: executionBox.value, configuration: parameters, logger: logger)
    }
    for driver in drivers {
      let box = UnsafeTransfer(driver)
      let addresses = config.replicas
      try await driver.eventLoop.submit {
        box.value.start(addresses: addresses, authentication: authentication)
      }.get()
    }
    execution.voteForRestoredCheckpoint()
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
      "replica \(id) stopped: \(counters.delivered) instances delivered, \(counters.rejected) inputs rejected, \(counters.stateTransfersCompleted) state transfers, \(counters.peerFramesDropped) frames to peers dropped"
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
