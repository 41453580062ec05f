import Foundation
import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Starts real replicas (SwiftNIO TCP on 127.0.0.1) in this process and drives them
/// with the real client library.
@Suite("Loopback cluster", .serialized)
struct LoopbackClusterTests {
  /// Ports handed out in this process: suites run in parallel, and a port the kernel
  /// gave one suite (then released for its replicas to bind) must not go to another.
  static let handedOut = Mutex<Set<Int>>([])

  static func freePorts(_ count: Int) throws -> [Int] {
    // Bind port 0 to let the kernel choose, then release the ports.
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    var channels: [any Channel] = []
    var ports: [Int] = []
    while ports.count < count {
      let channel = try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait()
      channels.append(channel)  // held until all are chosen: no port twice
      let port = channel.localAddress!.port!
      if handedOut.withLock({ $0.insert(port).inserted }) { ports.append(port) }
    }
    for channel in channels { try channel.close().wait() }
    return ports
  }

  /// `count` consecutive free ports (pillar u of a replica listens on peerPort + u).
  static func freeConsecutivePorts(_ count: Int) throws -> Int {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    defer { try? group.syncShutdownGracefully() }
    while true {
      let first = try freePorts(1)[0]
      guard first + count - 1 <= 65_535 else { continue }
      var held: [any Channel] = []
      for port in (first + 1)..<(first + count) {
        guard handedOut.withLock({ $0.insert(port).inserted }),
          let channel = try? ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port)
            .wait()
        else { break }
        held.append(channel)
      }
      for channel in held { try channel.close().wait() }
      if held.count == count - 1 { return first }
    }
  }

  static func cluster(
    replicas: Int, service: ServiceKind, batch: Int = 16, pillars: Int = 1, rotate: Bool = false
  ) throws -> ClusterConfig {
    let clientPorts = try freePorts(replicas)
    var config = ClusterConfig.loopback(
      replicaCount: replicas, basePort: 1,
      protocolParameters: ProtocolConfiguration(
        replicaCount: replicas, checkpointInterval: UInt64(8 * pillars),
        windowSize: UInt64(32 * pillars), maxBatchSize: batch, pillarCount: pillars,
        rotateLeaders: rotate),
      service: service)
    for i in 0..<replicas {
      config.replicas[i].peerPort =
        pillars == 1 ? try freePorts(1)[0] : try freeConsecutivePorts(pillars)
      config.replicas[i].clientPort = clientPorts[i]
    }
    config.timing.clientRetransmitMilliseconds = 300
    return config
  }

  static func withCluster(
    _ config: ClusterConfig, _ body: @Sendable (GeneratedCluster) async throws -> Void
  ) async throws {
    let keys = ClusterSetup.generate(config)
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let nodes = try keys.replicas.map {
      try ReplicaNode(
        config: keys.config, id: $0.replica, keys: $0, clients: keys.directory, logger: logger)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for node in nodes { group.addTask { try await node.run() } }
      defer { group.cancelAll() }
      try await body(keys)
    }
  }

  @Test(
    "3 replicas serve a key-value client end to end: 1 pillar (HybsterS), 2 pillars, 3 pillars with rotating leaders (§5.3, §6.2)",
    arguments: [(1, false), (2, false), (3, true)])
  func keyValueEndToEnd(pillars: Int, rotate: Bool) async throws {
    let config = try Self.cluster(
      replicas: 3, service: .keyValue, pillars: pillars, rotate: rotate)
    try await Self.withCluster(config) { cluster in
      let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
      let client = HybsterClient(
        config: cluster.config, credentials: try cluster.credentials(), lanes: 4,
        eventLoopGroup: group, connectTimeout: .seconds(180))
      try await client.connect()
      func run(_ op: KeyValueOperation) async throws -> KeyValueResult {
        try KeyValueResult.decode(try await client.submit(op.encode()))
      }
      #expect(try await run(.get(key: Array("a".utf8))) == .value(nil))
      #expect(try await run(.put(key: Array("a".utf8), value: Array("1".utf8))) == .ok)
      #expect(try await run(.get(key: Array("a".utf8))) == .value(Array("1".utf8)))
      #expect(
        try await run(
          .compareAndSwap(key: Array("a".utf8), expected: Array("2".utf8), new: Array("3".utf8)))
          == .casFailed(current: Array("1".utf8)))
      #expect(
        try await run(
          .compareAndSwap(key: Array("a".utf8), expected: Array("1".utf8), new: Array("3".utf8)))
          == .ok)
      #expect(try await run(.get(key: Array("a".utf8))) == .value(Array("3".utf8)))
      #expect(try await run(.delete(key: Array("a".utf8))) == .ok)
      #expect(try await run(.get(key: Array("a".utf8))) == .value(nil))
      // Enough writes to pass several checkpoints and move the window.
      for i in 0..<100 {
        #expect(try await run(.put(key: Array("k\(i % 7)".utf8), value: [UInt8(i)])) == .ok)
      }
      #expect(try await run(.get(key: Array("k1".utf8))) == .value([99]))
      await client.shutdown()
      try await group.shutdownGracefully()
    }
  }
}
