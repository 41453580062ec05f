import ArgumentParser
import HybsterCore
import HybsterRuntime

/// `hybster bench`: a closed-loop load generator against a running cluster (§6.2
/// microbenchmark): throughput and latency percentiles over the measurement window.
struct BenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure throughput and latency of a running cluster with a closed-loop load."
  )

  @Option(help: "The cluster configuration (cluster.json).")
  var config: String

  @Option(
    name: .customLong("key"),
    help:
      "A client key file, one per load client; repeat for several (default: client.key next to the config)."
  )
  var keys: [String] = []

  @OptionGroup var load: LoadOptions

  func run() async throws {
    try await reportingErrors {
      bootstrapClientLogging()
      let cluster = try ClusterConfig.load(from: config)
      let paths = keys.isEmpty ? [Paths.clientKey(explicit: nil, config: config)] : keys
      if load.clients != paths.count, load.clients != 8 {
        throw CLIError(
          "bench runs one client per key: --clients \(load.clients) needs as many --key files "
            + "(create them with `hybster client new --admit`)")
      }
      var credentials: [ClientCredentials] = []
      for path in paths { credentials.append(try loadCredentials(path: path, config: cluster)) }
      if case .keyValue = cluster.service {
        Console.note(
          "warning: the cluster runs the key-value store; bench sends \(load.payload) zero "
            + "bytes per request, which it will reject or treat as malformed")
      }
      var report = try await LoadGenerator.run(
        config: cluster, credentials: credentials, settings: load.settings)
      report.clientAuthentication = cluster.protocolParameters.clientAuthentication.rawValue
      report.print(json: load.json)
      guard report.requestsOK > 0 else {
        throw CLIError("no request completed in the measurement window")
      }
    }
  }
}
