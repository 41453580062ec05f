import Foundation
import HybsterCore
import HybsterRuntime
import HybsterServices
import Logging
import Testing

/// Issue 12: what a client saw acknowledged survives the crash of every replica, and
/// a replica whose journal was corrupted on disk discards it and rejoins.
@Suite("Durability and restarts", .serialized)
struct DurabilityClusterTests {
  /// Three replicas with their data in `directory`; `start(id)` runs one until its
  /// task is cancelled (nothing is saved on the way out: what a restart finds is
  /// what the replica journaled before its messages left).
  struct Replicas {
    let keys: GeneratedCluster
    var config: ClusterConfig { keys.config }
    let directory: String
    let logger: Logger

    /// Three replicas of a fresh cluster, their data in a new temporary directory.
    static func make(batch: Int, pillars: Int, logLevel: Logger.Level) throws -> Replicas {
      var logger = Logger(label: "test")
      logger.logLevel = logLevel
      return Replicas(
        keys: ClusterSetup.generate(
          try LoopbackClusterTests.cluster(
            replicas: 3, service: .keyValue, batch: batch, pillars: pillars)),
        directory: NSTemporaryDirectory() + "hybster-durability-\(UUID().uuidString)",
        logger: logger)
    }

    func start(_ id: ReplicaID) throws -> Task<Void, any Error> {
      let node = try ReplicaNode(
        config: config, id: id, keys: keys.replicas[Int(id)], clients: keys.directory,
        logger: logger,
        options: ReplicaNode.Options(dataDirectory: directory, durability: .fsync))
      return Task { try await node.run() }
    }

    /// Starts the three replicas and runs `body` with their tasks (it may stop and
    /// restart them). However `body` ends, it then stops every replica, waits until
    /// each has, and only then removes the data directory: a replica that cannot
    /// write there stops its process, here the test runner's.
    func running(_ body: (inout [Task<Void, any Error>]) async throws -> Void) async throws {
      var tasks = try (0..<3).map { try start(ReplicaID($0)) }
      do {
        try await body(&tasks)
      } catch {
        await stop(tasks)
        throw error
      }
      await stop(tasks)
    }

    private func stop(_ tasks: [Task<Void, any Error>]) async {
      for task in tasks { task.cancel() }
      for task in tasks { _ = await task.result }
      try? FileManager.default.removeItem(atPath: directory)
    }
  }

  @Test(
    "a power cut of every replica loses no acknowledged write (1 and 2 pillars)", arguments: [1, 2])
  func powerCut(pillars: Int) async throws {
    let replicas = try Replicas.make(batch: 4, pillars: pillars, logLevel: .warning)
    try await replicas.running { tasks in
      try await KeyValueSession.run(replicas.config, credentials: try replicas.keys.credentials()) {
        run async throws -> Void in
        for i in 0..<120 {
          #expect(
            try await run(.put(key: KeyValueSession.key(i), value: KeyValueSession.value(i))) == .ok
          )
        }
      }
      // Every replica at once.
      for task in tasks { task.cancel() }
      for task in tasks { _ = await task.result }
      let restart = ContinuousClock.now
      tasks = try (0..<3).map { try replicas.start(ReplicaID($0)) }
      try await KeyValueSession.run(replicas.config, credentials: try replicas.keys.credentials()) {
        run async throws -> Void in
        #expect(
          try await run(.get(key: KeyValueSession.key(0))) == .value(KeyValueSession.value(0)))
        print(
          "power cut (\(pillars) pillar(s)): first read served \(ContinuousClock.now - restart) after the restart"
        )
        for i in 0..<120 {
          #expect(
            try await run(.get(key: KeyValueSession.key(i))) == .value(KeyValueSession.value(i)))
        }
        #expect(
          try await run(.put(key: KeyValueSession.key(500), value: KeyValueSession.value(500)))
            == .ok
        )
      }
    }
  }

  @Test("a replica whose journal is corrupted sets it aside, does not crash, and the group serves")
  func corruptedJournal() async throws {
    let replicas = try Replicas.make(batch: 1, pillars: 1, logLevel: .critical)
    let directory = replicas.directory
    try await replicas.running { tasks in
      try await KeyValueSession.run(replicas.config, credentials: try replicas.keys.credentials()) {
        run async throws -> Void in
        for i in 0..<40 {
          #expect(
            try await run(.put(key: KeyValueSession.key(i), value: KeyValueSession.value(i))) == .ok
          )
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
      try await KeyValueSession.run(replicas.config, credentials: try replicas.keys.credentials()) {
        run async throws -> Void in
        for i in 0..<40 {
          #expect(
            try await run(.get(key: KeyValueSession.key(i))) == .value(KeyValueSession.value(i)))
        }
      }
      // It journals again from a fresh base (its counter at its reservation).
      let rewritten = try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasPrefix("replica-2-pillar-0-") && $0.hasSuffix(".log") }
      #expect(!rewritten.isEmpty)
    }
  }
}
