import Foundation
import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import Logging
import NIOCore
import NIOPosix
import Testing

/// The view change on real replicas (§5.2.3): the leader stops, the others elect a
/// new one, and the client's requests keep completing.
@Suite("Loopback failover", .serialized)
struct FailoverClusterTests {
  @Test(
    "stopping the leader under load: a new leader is elected and requests complete (1 pillar, 2 pillars, 3 with rotating leaders)",
    arguments: [(1, false), (2, false), (3, true)])
  func leaderStops(pillars: Int, rotate: Bool) async throws {
    var config = try LoopbackClusterTests.cluster(
      replicas: 3, service: .keyValue, batch: 8, pillars: pillars, rotate: rotate)
    config.protocolParameters.viewChangeTimeoutTicks = 6  // 300 ms at 50 ms ticks
    let keys = ClusterSetup.generate(config)
    config = keys.config
    var logger = Logger(label: "failover-test")
    logger.logLevel = .critical
    let nodes = try keys.replicas.map {
      try ReplicaNode(
        config: config, id: $0.replica, keys: $0, clients: keys.directory, logger: logger)
    }
    let data = try await withThrowingTaskGroup(of: Void.self) { group in
      let leader = Task { try await nodes[0].run() }
      for node in nodes.dropFirst() { group.addTask { try await node.run() } }
      defer {
        leader.cancel()
        group.cancelAll()
      }
      let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
      let client = HybsterClient(
        config: config, credentials: try keys.credentials(), lanes: 2,
        eventLoopGroup: loop, giveUpAfter: .seconds(60), connectTimeout: .seconds(180))
      try await client.connect()
      func put(_ i: Int) async throws -> KeyValueResult {
        try KeyValueResult.decode(
          try await client.submit(
            KeyValueOperation.put(key: Array("k\(i)".utf8), value: [UInt8(i)]).encode()))
      }
      for i in 0..<20 { #expect(try await put(i) == .ok) }
      leader.cancel()  // the leader of view 0 stops serving
      _ = await leader.result
      let stoppedAt = ContinuousClock.now
      for i in 20..<40 { #expect(try await put(i) == .ok) }
      let interruption = ContinuousClock.now - stoppedAt
      let read = try KeyValueResult.decode(
        try await client.submit(KeyValueOperation.get(key: Array("k7".utf8)).encode()))
      await client.shutdown()
      try await loop.shutdownGracefully()
      return (read, interruption)
    }
    #expect(data.0 == .value([7]))
    // Generous: the bound is the client's retry plus the suspicion timeout, not a
    // benchmark. Alone it takes under 2 s; while the simulator suites load both cores of
    // a 2-core machine it took up to 21 s.
    #expect(data.1 < .seconds(40))
  }
}
