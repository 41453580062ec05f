import Foundation
import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import Logging
import NIOCore
import NIOPosix
import Testing

/// Issue 12: what a client saw acknowledged survives the crash of every replica, and
/// a replica whose journal was corrupted on disk discards it and rejoins.
@Suite("Durability and restarts", .serialized)
struct DurabilityClusterTests {
  /// Three replicas with their data in `directory`; `start(id)` runs one until its
  /// task is cancelled (nothing is saved on the way out: what a restart finds is
  /// what the replica journaled before its messages left).
  struct Replicas {
    let config: ClusterConfig
    let keys: (replicas: [ReplicaKeys], clients: ClientAuthority)
    let directory: String
    let logger: Logger

    func start(_ id: ReplicaID) throws -> Task<Void, any Error> {
      let node = try ReplicaNode(
        config: config, id: id, keys: keys.replicas[Int(id)], logger: logger,
        options: ReplicaNode.Options(dataDirectory: directory, durability: .fsync))
      return Task { try await node.run() }
    }
  }

  static func withClient<T>(
    _ replicas: Replicas,
    _ body: (_ run: (KeyValueOperation) async throws -> KeyValueResult)
      async throws -> T
  ) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let client = HybsterClient(
      config: replicas.config, credentials: try replicas.keys.clients.credentials(for: 7),
      lanes: 1, eventLoopGroup: group, connectTimeout: .seconds(120))
    try await client.connect()
    let result = try await body { op in
      try KeyValueResult.decode(try await client.submit(op.encode()))
    }
    await client.shutdown()
    try await group.shutdownGracefully()
    return result
  }

  static func key(_ i: Int) -> [UInt8] { Array("key\(i)".utf8) }
  static func value(_ i: Int) -> [UInt8] { Array("value\(i)".utf8) }

  @Test(
    "a power cut of every replica loses no acknowledged write (1 and 2 pillars)", arguments: [1, 2])
  func powerCut(pillars: Int) async throws {
    let config = try LoopbackClusterTests.cluster(
      replicas: 3, service: .keyValue, batch: 4, pillars: pillars)
    let directory = NSTemporaryDirectory() + "hybster-durability-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let replicas = Replicas(
      config: config, keys: ClusterSetup.generateKeys(replicaCount: 3), directory: directory,
      logger: logger)
    var tasks = try (0..<3).map { try replicas.start(ReplicaID($0)) }
    try await Self.withClient(replicas) { run async throws -> Void in
      for i in 0..<120 {
        #expect(try await run(.put(key: Self.key(i), value: Self.value(i))) == .ok)
      }
    }
    // Every replica at once.
    for task in tasks { task.cancel() }
    for task in tasks { _ = await task.result }
    let restart = ContinuousClock.now
    tasks = try (0..<3).map { try replicas.start(ReplicaID($0)) }
    defer { for task in tasks { task.cancel() } }
    try await Self.withClient(replicas) { run async throws -> Void in
      #expect(try await run(.get(key: Self.key(0))) == .value(Self.value(0)))
      print(
        "power cut (\(pillars) pillar(s)): first read served \(ContinuousClock.now - restart) after the restart"
      )
      for i in 0..<120 { #expect(try await run(.get(key: Self.key(i))) == .value(Self.value(i))) }
      #expect(try await run(.put(key: Self.key(500), value: Self.value(500))) == .ok)
    }
  }

  @Test("a replica whose journal is corrupted sets it aside, does not crash, and the group serves")
  func corruptedJournal() async throws {
    let config = try LoopbackClusterTests.cluster(
      replicas: 3, service: .keyValue, batch: 1, pillars: 1)
    let directory = NSTemporaryDirectory() + "hybster-corrupt-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let replicas = Replicas(
      config: config, keys: ClusterSetup.generateKeys(replicaCount: 3), directory: directory,
      logger: logger)
    var tasks = try (0..<3).map { try replicas.start(ReplicaID($0)) }
    defer { for task in tasks { task.cancel() } }
    try await Self.withClient(replicas) { run async throws -> Void in
      for i in 0..<40 {
        #expect(try await run(.put(key: Self.key(i), value: Self.value(i))) == .ok)
      }
    }
    tasks[2].cancel()
    _ = await tasks[2].result
    // Flip a byte in the middle of replica 2's journal.
    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasPrefix("replica-2-pillar-0-") && $0.hasSuffix(".log") }
    let path = directory + "/" + (try #require(names.sorted().last))
    var bytes = try #require(FileManager.default.contents(atPath: path))
    #expect(bytes.count > 100)
    bytes[bytes.count / 2] ^= 0x5A
    try bytes.write(to: URL(fileURLWithPath: path))
    tasks[2] = try replicas.start(2)
    try await Task.sleep(for: .milliseconds(500))
    // Replica 2 runs on (it did not crash on the damage) and set the file aside.
    #expect(!tasks[2].isCancelled)
    let setAside = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasPrefix("replica-2-pillar-0-") && $0.hasSuffix(".corrupt") }
    #expect(!setAside.isEmpty)
    try await Self.withClient(replicas) { run async throws -> Void in
      for i in 0..<40 { #expect(try await run(.get(key: Self.key(i))) == .value(Self.value(i))) }
    }
    // It journals again from a fresh base (its counter at its reservation).
    let rewritten = try FileManager.default.contentsOfDirectory(atPath: directory)
      .filter { $0.hasPrefix("replica-2-pillar-0-") && $0.hasSuffix(".log") }
    #expect(!rewritten.isEmpty)
  }
}
