import ArgumentParser
import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import NIOCore
import NIOPosix
import Synchronization

/// `hybster kv`: one request to a cluster that runs the key-value store, e.g.
/// `hybster kv --config c/cluster.json put color blue`.
struct KVCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kv",
    abstract: "Send one request to a cluster running the key-value store.",
    usage: """
      hybster kv --config <file> [--key <file>] put <key> <value>
      hybster kv --config <file> get <key>
      hybster kv --config <file> delete <key>
      hybster kv --config <file> cas <key> <expected> <new>
      hybster kv --config <file> cas --expect-absent <key> <new>
      """,
    discussion: """
      Keys and values are UTF-8 text. Prints OK, the value, or (not found); a failed cas \
      prints the current value and exits with status 1.
      """
  )

  @Option(help: "The cluster configuration (cluster.json).")
  var config: String

  @Option(
    help:
      "The client's key file (default: client.key next to the config; `hybster client new` makes others)."
  )
  var key: String?

  @Flag(help: "For cas: succeed only if the key is absent (then give only <key> <new>).")
  var expectAbsent = false

  @Option(help: "Seconds to wait for the reply.")
  var timeout: Double = 10

  @Argument(help: "put, get, delete or cas.")
  var operation: String

  @Argument(help: "The operation's key and values.")
  var arguments: [String] = []

  func validate() throws {
    _ = try parsedOperation()
    guard timeout > 0, timeout.isFinite else {
      throw ValidationError("--timeout must be a positive number of seconds")
    }
  }

  private func parsedOperation() throws -> KeyValueOperation {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    func expect(_ count: Int, _ usage: String) throws {
      guard arguments.count == count else {
        throw ValidationError("\(operation) takes \(usage), got \(arguments.count) argument(s)")
      }
    }
    if expectAbsent, operation != "cas" {
      throw ValidationError("--expect-absent applies to cas only")
    }
    switch operation {
    case "get":
      try expect(1, "<key>")
      return .get(key: bytes(arguments[0]))
    case "put":
      try expect(2, "<key> <value>")
      return .put(key: bytes(arguments[0]), value: bytes(arguments[1]))
    case "delete":
      try expect(1, "<key>")
      return .delete(key: bytes(arguments[0]))
    case "cas" where expectAbsent:
      try expect(2, "<key> <new> with --expect-absent")
      return .compareAndSwap(key: bytes(arguments[0]), expected: nil, new: bytes(arguments[1]))
    case "cas":
      try expect(3, "<key> <expected> <new>")
      return .compareAndSwap(
        key: bytes(arguments[0]), expected: bytes(arguments[1]), new: bytes(arguments[2]))
    default:
      throw ValidationError("unknown operation '\(operation)'; use put, get, delete or cas")
    }
  }

  func run() async throws {
    try await reportingErrors {
      bootstrapClientLogging()
      let operation = try parsedOperation()
      let cluster = try ClusterConfig.load(from: config)
      guard case .keyValue = cluster.service else {
        throw CLIError(
          "the cluster in \(config) runs the \(describe(cluster.service)), not the key-value "
            + "store; create it with `hybster config init --service kv`")
      }
      let credentials = try loadCredentials(
        path: Paths.clientKey(explicit: key, config: config), config: cluster)

      let reply = try await Self.send(
        operation.encode(), config: cluster, credentials: credentials, timeout: timeout)
      let result: KeyValueResult
      do {
        result = try KeyValueResult.decode(reply)
      } catch {
        throw CLIError(
          "cannot decode the \(reply.count)-byte reply as a key-value result (\(error)); "
            + "is every replica running the key-value service?")
      }
      try Self.show(result)
    }
  }

  /// Sends one operation and waits for its reply, at most `timeout` seconds.
  private static func send(
    _ operation: [UInt8], config: ClusterConfig, credentials: ClientCredentials, timeout: Double
  ) async throws -> [UInt8] {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let client = HybsterClient(
      config: config, credentials: credentials, lanes: 1, eventLoopGroup: group)
    // The client's own timeouts fail a request; this guard also covers a request that
    // would wait forever, by shutting the client down (which fails it).
    let timedOut = Atomic(false)
    let watchdog = Task {
      try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
      timedOut.store(true, ordering: .relaxed)
      await client.shutdown()
    }
    defer { watchdog.cancel() }
    do {
      try await client.connect()
      let reply = try await client.submit(operation)
      await client.shutdown()
      try? await group.shutdownGracefully()
      return reply
    } catch {
      watchdog.cancel()
      await client.shutdown()
      try? await group.shutdownGracefully()
      if case HybsterClientError.timeout = error {
        throw CLIError("no reply from the cluster (timed out)")
      }
      if case HybsterClientError.shutdown = error, timedOut.load(ordering: .relaxed) {
        throw CLIError("no reply from the cluster within \(timeout) s")
      }
      if case HybsterClientError.connectionFailed(let reason) = error {
        throw CLIError("cannot connect to the cluster: \(reason)")
      }
      throw CLIError("request failed: \(error)")
    }
  }

  /// Prints a result; a failed cas or a service error is a non-zero exit.
  private static func show(_ result: KeyValueResult) throws {
    switch result {
    case .ok:
      print("OK")
    case .value(let value?):
      print(text(value))
    case .value(nil), .notFound:
      print("(not found)")
    case .casFailed(let current):
      print("CAS FAILED: current value is \(current.map(text) ?? "(absent)")")
      throw ExitCode.failure
    case .error(let message):
      throw CLIError("the service rejected the request: \(message)")
    }
  }

  /// UTF-8 text, or `0x…` hex for bytes that are not valid UTF-8.
  private static func text(_ bytes: [UInt8]) -> String {
    if let string = String(validating: bytes, as: UTF8.self) { return string }
    return "0x" + Hex.encode(bytes)
  }
}
