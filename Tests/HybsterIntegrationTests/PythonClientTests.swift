import Foundation
import HybsterCore
import HybsterRuntime
import HybsterServices
import HybsterWire
import NIOPosix
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 13, item 5: the stdlib-only Python client in `clients/python/`, written from
/// `docs/wire-format.md` alone, against three real `hybster replica` processes:
/// put, get, delete, cas (success and failure), a client key the group does not
/// admit, a client that claims another's id, and an operation over
/// `maxOperationSize`, each refused with a clear error.
/// Its own checks (RFC test vectors, the document's worked example) run here too.
@Suite("Python client against replica processes (issue 13)", .serialized)
struct PythonClientTests {
  /// `python3` on PATH, if any.
  static let python: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/python3" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }()

  static let clientDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("clients/python").path

  /// The group's `maxOperationSize`: small, so that a command-line argument exceeds it.
  static let maxOperationSize = 4096

  /// Three `hybster replica` processes of a cluster written into a temporary directory.
  final class Cluster: @unchecked Sendable {
    let directory = NSTemporaryDirectory() + "hybster-python-\(UUID().uuidString)"
    let written: GeneratedCluster
    private var processes: [Process] = []

    init(_ config: ClusterConfig) throws {
      written = try ClusterSetup.write(config, to: directory)
    }

    func start() throws {
      for id in 0..<written.config.replicas.count {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ReplicaProcessCluster.executable)
        process.arguments = [
          "replica", "--config", ClusterSetup.configPath(in: directory), "--id", "\(id)",
          "--log-level", "warning",
        ]
        let log = directory + "/replica-\(id).out"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.append(process)
      }
    }

    deinit {
      for process in processes {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
      try? FileManager.default.removeItem(atPath: directory)
    }
  }

  struct Outcome {
    var status: Int32
    var output: String
    var errors: String
  }

  /// Runs `python3 args…` in `clients/python`, at most `limit`.
  static func python(_ arguments: [String], limit: Duration = .seconds(30)) async throws -> Outcome
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try #require(python))
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: clientDirectory)
    let id = UUID().uuidString
    let out = NSTemporaryDirectory() + "python-\(id).out"
    let err = NSTemporaryDirectory() + "python-\(id).err"
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    defer {
      try? FileManager.default.removeItem(atPath: out)
      try? FileManager.default.removeItem(atPath: err)
    }
    process.standardOutput = FileHandle(forWritingAtPath: out)
    process.standardError = FileHandle(forWritingAtPath: err)
    try process.run()
    let deadline = ContinuousClock.now + limit
    while process.isRunning {
      if ContinuousClock.now > deadline {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        Issue.record("python3 \(arguments.joined(separator: " ")) ran longer than \(limit)")
        break
      }
      try await Task.sleep(for: .milliseconds(20))
    }
    process.waitUntilExit()
    return Outcome(
      status: process.terminationStatus,
      output: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
      errors: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
  }

  @Test(
    "the Python client's cryptography passes the RFC 8032, RFC 7748 and RFC 5869 vectors, and it reproduces the document's worked example",
    .enabled(if: python != nil, "python3 is not on PATH: the Python client is not tested"))
  func selfTests() async throws {
    for script in ["test_crypto.py", "test_document.py"] {
      let outcome = try await Self.python([script])
      #expect(outcome.status == 0, "\(script): \(outcome.errors)")
    }
  }

  @Test(
    "the Python client puts, gets, deletes and compare-and-swaps on real replicas, and reports refusals",
    .enabled(if: python != nil, "python3 is not on PATH: the Python client is not tested"),
    .enabled(
      if: ReplicaProcessCluster.executableExists,
      "no hybster executable next to the tests: run `swift build` first"))
  func keyValueSession() async throws {
    var config = try LoopbackClusterTests.cluster(replicas: 3, service: .keyValue, batch: 8)
    config.protocolParameters.maxOperationSize = Self.maxOperationSize
    let cluster = try Cluster(config)
    let dir = cluster.directory
    let configPath = ClusterSetup.configPath(in: dir)

    // Alice's keys come from the Python client (section 8.2 of the document): the
    // replicas admit her .pub file. Mallory's .pub is never admitted.
    for name in ["alice", "mallory"] {
      let made = try await Self.python([
        "hybster_client.py", "keygen", "--out", "\(dir)/\(name).key",
      ])
      try #require(made.status == 0, "keygen: \(made.errors)")
    }
    try FileManager.default.copyItem(atPath: "\(dir)/alice.pub", toPath: "\(dir)/clients/alice.pub")
    try cluster.start()

    func kv(_ arguments: String..., key: String = "alice.key") async throws -> Outcome {
      try await Self.python(
        ["hybster_client.py", "--config", configPath, "--key", "\(dir)/\(key)", "--timeout", "20"]
          + arguments)
    }
    func expect(
      _ outcome: Outcome, _ output: String, status: Int32 = 0,
      sourceLocation: SourceLocation = #_sourceLocation
    ) {
      #expect(outcome.status == status, "stderr: \(outcome.errors)", sourceLocation: sourceLocation)
      #expect(
        outcome.output.trimmingCharacters(in: .whitespacesAndNewlines) == output,
        sourceLocation: sourceLocation)
    }

    let start = ContinuousClock.now
    expect(try await kv("put", "color", "blue"), "OK")
    expect(try await kv("get", "color"), "blue")
    expect(try await kv("cas", "color", "blue", "red"), "OK")
    expect(
      try await kv("cas", "color", "blue", "green"), "CAS FAILED: current value is red", status: 1)
    expect(try await kv("cas", "--expect-absent", "shape", "round"), "OK")
    expect(
      try await kv("cas", "--expect-absent", "shape", "square"),
      "CAS FAILED: current value is round", status: 1)
    expect(try await kv("get", "color"), "red")
    expect(try await kv("delete", "color"), "OK")
    expect(try await kv("get", "color"), "(not found)")
    expect(try await kv("delete", "color"), "(not found)")

    // The key file `config init` wrote (made by the Swift code) works too, and the
    // Swift client reads what the Python client wrote.
    expect(try await kv("get", "shape", key: "client.key"), "round")
    let shape = try await KeyValueSession.run(
      cluster.written.config, credentials: try cluster.written.credentials()
    ) { run in
      try await run(.get(key: Array("shape".utf8)))
    }
    #expect(shape == .value(Array("round".utf8)))

    // A key the group does not admit: every replica refuses the connection.
    let mallory = try await kv("get", "shape", key: "mallory.key")
    #expect(mallory.status == 3, "stdout: \(mallory.output) stderr: \(mallory.errors)")
    #expect(mallory.errors.contains("refused") && mallory.errors.contains("not admitted"))
    #expect(mallory.errors.contains("unknownClient"))

    // Mallory proving with her own key while claiming Alice's id: the replica
    // process refuses the handshake and says why.
    let alice = try ClientKeyFile.load(from: "\(dir)/alice.key").publicKeys.id
    let forger = try cluster.written.config.credentials(
      for: try ClientKeyFile.load(from: "\(dir)/mallory.key"))
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let raw = try await AuthenticatedConnectionTests.Raw(
      port: cluster.written.config.replicas[0].clientPort, group: group)
    try await raw.send(.hello(Hello(role: .client(alice))))
    let nonce = try await raw.challenge().nonce
    try await raw.send(
      .proof(HandshakeProof(mac: forger.connectionProof(challenge: nonce, replica: 0))))
    #expect(await raw.closed(within: .seconds(10)))
    let refusals = raw.recorder.frames.withLock { frames in
      frames.compactMap { if case .refused(let refusal) = $0 { refusal } else { nil } }
    }
    #expect(refusals.map(\.reason) == [.invalidProof])
    #expect(refusals.first?.detail.contains("client \(alice)") == true)
    try await group.shutdownGracefully()

    // An operation over maxOperationSize: every replica refuses the request.
    let big = try await kv("put", "big", String(repeating: "x", count: Self.maxOperationSize + 1))
    #expect(big.status == 3, "stdout: \(big.output) stderr: \(big.errors)")
    #expect(big.errors.contains("maxOperationSize is \(Self.maxOperationSize)"))
    #expect(big.errors.contains("operationTooLarge"))
    expect(try await kv("get", "big"), "(not found)")
    print("python client: 17 commands in \(ContinuousClock.now - start)")
  }
}
