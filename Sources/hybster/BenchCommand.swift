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

  @Option(help: "The client authority (default: clients.key next to the config).")
  var clientKeys: String?

  @OptionGroup var load: LoadOptions

  func run() async throws {
    try await reportingErrors {
      bootstrapClientLogging()
      let cluster = try ClusterConfig.load(from: config)
      let authority = try loadClientAuthority(
        path: Paths.clientKeys(explicit: clientKeys, config: config), config: cluster)
      if case .keyValue = cluster.service {
        Console.note(
          "warning: the cluster runs the key-value store; bench sends \(load.payload) zero "
            + "bytes per request, which it will reject or treat as malformed")
      }
      let report = try await LoadGenerator.run(
        config: cluster, authority: authority, settings: load.settings)
      report.print(json: load.json)
      guard report.requestsOK > 0 else {
        throw CLIError("no request completed in the measurement window")
      }
    }
  }
}
