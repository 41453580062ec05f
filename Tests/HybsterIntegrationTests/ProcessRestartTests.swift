import Foundation
import HybsterCore
import HybsterRuntime
import HybsterServices
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 12 with real `hybster replica` processes killed with SIGKILL: a power cut
/// of the whole cluster, and a rolling restart of every replica under load. Every
/// write a client saw acknowledged is read back afterwards.
@Suite("Replica processes killed and restarted (issue 12)", .serialized)
struct ProcessRestartTests {
  /// The `hybster` executable `swift build` put next to the test bundle.
  static var executable: String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundle.appendingPathComponent("hybster").path
  }

  /// Three replica processes of one cluster in a temporary directory.
  final class Cluster: @unchecked Sendable {
    let directory: String
    let config: ClusterConfig
    let credentials: ClientCredentials
    var processes: [Process?] = [nil, nil, nil]

    init() throws {
      directory = NSTemporaryDirectory() + "hybster-processes-\(UUID().uuidString)"
      let written = try ClusterSetup.write(
        try LoopbackClusterTests.cluster(replicas: 3, service: .keyValue, batch: 8), to: directory)
      config = written.config
      credentials = try written.credentials()
    }

    func start(_ id: Int) throws {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: ProcessRestartTests.executable)
      process.arguments = [
        "replica", "--config", ClusterSetup.configPath(in: directory), "--id", "\(id)",
        "--log-level", "warning",
      ]
      let log = FileManager.default.createFile(
        atPath: directory + "/replica-\(id).out", contents: nil)
      precondition(log)
      let handle = FileHandle(forWritingAtPath: directory + "/replica-\(id).out")!
      handle.seekToEndOfFile()
      process.standardOutput = handle
      process.standardError = handle
      try process.run()
      processes[id] = process
    }

    /// SIGKILL: nothing is saved on the way out.
    func kill(_ id: Int) {
      guard let process = processes[id] else { return }
      Glibc.kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      processes[id] = nil
    }

    func killAll() { for id in 0..<3 { kill(id) } }

    deinit {
      for process in processes.compactMap({ $0 }) {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
      try? FileManager.default.removeItem(atPath: directory)
    }

    func withClient<T>(
      _ body: (_ run: (KeyValueOperation) async throws -> KeyValueResult) async throws -> T
    ) async throws -> T {
      try await KeyValueSession.run(config, credentials: credentials, body)
    }
  }

  @Test(
    "kill -9 of every replica process, then a restart: every acknowledged write is read back",
    .enabled(if: FileManager.default.isExecutableFile(atPath: ProcessRestartTests.executable)))
  func powerCut() async throws {
    let cluster = try Cluster()
    for id in 0..<3 { try cluster.start(id) }
    try await cluster.withClient { run async throws -> Void in
      for i in 0..<200 {
        #expect(
          try await run(.put(key: KeyValueSession.key(i), value: KeyValueSession.value(i))) == .ok)
      }
    }
    cluster.killAll()
    let restart = ContinuousClock.now
    for id in 0..<3 { try cluster.start(id) }
    try await cluster.withClient { run async throws -> Void in
      #expect(try await run(.get(key: KeyValueSession.key(0))) == .value(KeyValueSession.value(0)))
      print("processes: first read \(ContinuousClock.now - restart) after restarting all three")
      for i in 0..<200 {
        #expect(
          try await run(.get(key: KeyValueSession.key(i))) == .value(KeyValueSession.value(i)))
      }
    }
  }

  @Test(
    "a rolling restart of every replica process under load loses no acknowledged write",
    .enabled(if: FileManager.default.isExecutableFile(atPath: ProcessRestartTests.executable)))
  func rollingRestart() async throws {
    let cluster = try Cluster()
    for id in 0..<3 { try cluster.start(id) }
    try await cluster.withClient { run async throws -> Void in
      var written = 0
      for victim in 0..<3 {
        for _ in 0..<40 {
          #expect(
            try await run(
              .put(key: KeyValueSession.key(written), value: KeyValueSession.value(written))) == .ok
          )
          written += 1
        }
        cluster.kill(victim)
        // Writes go on with f+1 = 2 replicas while the victim is down.
        for _ in 0..<20 {
          #expect(
            try await run(
              .put(key: KeyValueSession.key(written), value: KeyValueSession.value(written))) == .ok
          )
          written += 1
        }
        try cluster.start(victim)
        try await Task.sleep(for: .milliseconds(500))
      }
      for i in 0..<written {
        #expect(
          try await run(.get(key: KeyValueSession.key(i))) == .value(KeyValueSession.value(i)))
      }
    }
  }
}
