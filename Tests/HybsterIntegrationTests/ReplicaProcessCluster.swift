import Foundation
import HybsterCore
import HybsterRuntime
import HybsterServices

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The replicas of one cluster as real `hybster replica` processes, as an operator runs
/// them: configuration, keys, journals and each replica's output (`replica-<i>.out`,
/// log level warning) in a temporary directory that goes with the cluster. Replicas
/// are started and killed (SIGKILL: nothing is saved on the way out) one by one.
final class ReplicaProcessCluster: @unchecked Sendable {
  /// The `hybster` executable `swift build` put next to the test bundle.
  static var executable: String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundle.appendingPathComponent("hybster").path
  }

  /// Whether there is an executable to start (suites that need one are enabled if so).
  static var executableExists: Bool {
    FileManager.default.isExecutableFile(atPath: executable)
  }

  let directory: String
  /// The configuration the replicas read, with their public keys.
  let config: ClusterConfig
  /// The admitted clients: `client.key` of `hybster config init` first.
  let clients: [ClientCredentials]
  private var processes: [Process?]
  private var outputs: [FileHandle?]

  /// The credentials of the first admitted client.
  var credentials: ClientCredentials { clients[0] }

  /// Three key-value replicas with one pillar, batches of at most `batch`, and the
  /// shortened timings of ``LoopbackClusterTests/cluster(replicas:service:batch:pillars:rotate:)``.
  convenience init(batch: Int = 8) throws {
    try self.init(
      try LoopbackClusterTests.cluster(replicas: 3, service: .keyValue, batch: batch))
  }

  /// Writes `config` with fresh keys and `clients` admitted clients; starts nothing.
  init(_ config: ClusterConfig, clients clientCount: Int = 1) throws {
    directory = NSTemporaryDirectory() + "hybster-processes-\(UUID().uuidString)"
    let written = try ClusterSetup.write(config, to: directory)
    self.config = written.config
    var clients = [try written.credentials()]
    let admitted = ClientDirectoryFiles.path(
      of: written.config, configPath: ClusterSetup.configPath(in: directory))
    for index in 1..<max(clientCount, 1) {
      let secret = ClientSecretKeys.generate()
      try ClientDirectoryFiles.admit(secret.publicKeys, name: "client-\(index)", in: admitted)
      clients.append(try written.config.credentials(for: secret))
    }
    self.clients = clients
    processes = Array(repeating: nil, count: config.replicas.count)
    outputs = Array(repeating: nil, count: config.replicas.count)
  }

  deinit {
    for id in processes.indices { kill(id) }
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Where replica `id` writes its standard output and error; a restart appends.
  func outputPath(of id: Int) -> String { directory + "/replica-\(id).out" }

  /// What replica `id` has written so far, over all its runs.
  func output(of id: Int) -> String {
    FileManager.default.contents(atPath: outputPath(of: id)).map {
      String(decoding: $0, as: UTF8.self)
    } ?? ""
  }

  /// The replicas whose output contains `text`.
  func replicas(whoseOutputContains text: String) -> [Int] {
    processes.indices.filter { output(of: $0).contains(text) }
  }

  func start(_ id: Int) throws {
    let path = outputPath(of: id)
    if !FileManager.default.fileExists(atPath: path) {
      let created = FileManager.default.createFile(atPath: path, contents: nil)
      precondition(created, "cannot create \(path)")
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    handle.seekToEndOfFile()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.executable)
    process.arguments = [
      "replica", "--config", ClusterSetup.configPath(in: directory), "--id", "\(id)",
      "--log-level", "warning",
    ]
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    processes[id] = process
    outputs[id] = handle
  }

  func startAll() throws { for id in processes.indices { try start(id) } }

  /// SIGKILL: nothing is saved on the way out. Returns once the process is gone.
  func kill(_ id: Int) {
    guard let process = processes[id] else { return }
    sendSignal(SIGKILL, to: process.processIdentifier)
    process.waitUntilExit()
    processes[id] = nil
    try? outputs[id]?.close()
    outputs[id] = nil
  }

  func killAll() { for id in processes.indices { kill(id) } }

  /// Waits until every running replica accepts connections on its client port.
  func waitUntilListening(timeout: Duration = .seconds(120)) async throws {
    let deadline = ContinuousClock.now + timeout
    for id in processes.indices where processes[id] != nil {
      while !acceptsConnections(port: config.replicas[id].clientPort) {
        guard ContinuousClock.now < deadline, processes[id]?.isRunning == true else {
          throw ClusterNotListening(replica: id, output: output(of: id))
        }
        try await Task.sleep(for: .milliseconds(50))
      }
    }
  }

  /// A key-value client of the first admitted client for the time of `body`.
  func withClient<T>(
    _ body: (_ run: (KeyValueOperation) async throws -> KeyValueResult) async throws -> T
  ) async throws -> T {
    try await KeyValueSession.run(config, credentials: credentials, body)
  }
}

/// A replica process did not accept client connections in time, or exited.
struct ClusterNotListening: Error, CustomStringConvertible {
  let replica: Int
  let output: String
  var description: String { "replica \(replica) is not listening; its output:\n\(output)" }
}

private func sendSignal(_ signal: Int32, to pid: Int32) {
  _ = kill(pid, signal)
}

/// Whether 127.0.0.1:`port` accepts a TCP connection now.
private func acceptsConnections(port: Int) -> Bool {
  #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
  #endif
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
  address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
  return withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
    }
  }
}
