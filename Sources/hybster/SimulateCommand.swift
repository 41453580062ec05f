import ArgumentParser
import Foundation
import HybsterCore
import HybsterSimulation

/// `hybster simulate`: the deterministic simulator over a range of seeds.
struct SimulateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "simulate",
    abstract: "Run the deterministic simulator (faults, Byzantine replicas, invariant checks).",
    discussion: """
      Each seed determines a whole run: cluster size, batching, checkpoints, workload, \
      network faults, crashes and Byzantine replicas. A failing seed prints the command \
      that reproduces it.
      """
  )

  @Option(help: "Number of seeds to run.")
  var seeds: Int = 100

  @Option(help: "First seed (default: random).")
  var from: UInt64?

  @Option(
    help: ArgumentHelp(
      "Force every Byzantine replica to one strategy.",
      valueName: ByzantineStrategy.allCases.map(\.rawValue).joined(separator: "|")))
  var byzantine: String?

  @Flag(help: "Make exactly f replicas Byzantine.")
  var byzantineMax = false

  @Option(
    help: ArgumentHelp(
      "Inject a deliberate bug into correct replicas (simulator self-test).",
      valueName: InjectedFaultName.all.map(\.name).joined(separator: "|")))
  var inject: [String] = []

  @Flag(
    inversion: .prefixedNo,
    help: """
      Adversarial scheduler: hold back chosen message kinds for many view-change timeouts \
      before the network heals; default: seeds with an adaptive replica.
      """)
  var holdBack: Bool?

  @Option(
    help: ArgumentHelp(
      "Message kinds the scheduler's hold-back rules pick from (comma-separated).",
      valueName: MessageKind.holdable.map(\.rawValue).joined(separator: ",")))
  var holdKinds: String?

  @Flag(
    inversion: .prefixedNo,
    help: "Twins: a second copy of each adaptive replica (one identity, one TrInX counter).")
  var twins: Bool?

  @Flag(
    inversion: .prefixedNo,
    help: "Power cut: every correct replica crashes at once and restarts from its disk.")
  var powerCut: Bool?

  @Option(
    help: ArgumentHelp(
      "Force a directed attack on every seed (n = 3, one pillar), or none on any.",
      valueName: (AttackCampaignKind.allCases.map(\.rawValue) + ["none"]).joined(separator: "|")))
  var campaign: String?

  @Option(
    help: ArgumentHelp(
      "Client request authentication (issue 13); default: each seed draws, mostly signatures.",
      valueName: ClientAuthMode.allCases.map(\.rawValue).joined(separator: "|")))
  var clientAuth: String?

  @Flag(
    inversion: .prefixedNo,
    help: """
      A Byzantine client (partial authenticators, foreign signatures, replays, another \
      client's id) next to the honest ones; default: each seed draws.
      """)
  var byzantineClient: Bool?

  @Flag(help: "Print one JSON object on the last line.")
  var json = false

  @Flag(help: "Print every run's parameters and outcome.")
  var verbose = false

  @Option(help: "Events of the trace printed with a violation.")
  var trace = 30

  @Option(help: "Pillars per replica (§5.3); default: each seed picks 1, 2 or 3.")
  var pillars: Int?

  @Flag(
    inversion: .prefixedNo,
    help: "Rotating leaders (pillar u led by (v+u) mod n); default: each seed with pillars picks.")
  var rotate: Bool?

  func run() async throws {
    guard seeds > 0 else { throw ValidationError("--seeds must be at least 1") }
    guard trace > 0 else { throw ValidationError("--trace must be at least 1") }
    if let pillars, !(1...8).contains(pillars) {
      throw ValidationError("--pillars must be between 1 and 8")
    }
    var options = SimulationOptions(
      byzantineAtMaximum: byzantineMax, traceLength: trace, pillars: pillars,
      rotateLeaders: rotate, holdBack: holdBack, twins: twins)
    options.powerCut = powerCut
    options.byzantineClient = byzantineClient
    if let clientAuth {
      guard let mode = ClientAuthMode(rawValue: clientAuth) else {
        throw ValidationError(
          "unknown client authentication '\(clientAuth)'; one of "
            + ClientAuthMode.allCases.map(\.rawValue).joined(separator: ", "))
      }
      options.clientAuthentication = mode
    }
    if let holdKinds {
      var kinds: Set<MessageKind> = []
      for name in holdKinds.split(separator: ",") {
        guard let kind = MessageKind(rawValue: String(name)) else {
          throw ValidationError(
            "unknown message kind '\(name)'; any of "
              + MessageKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        kinds.insert(kind)
      }
      options.holdKinds = kinds
    }
    if let campaign {
      if campaign == "none" {
        options.campaignsDrawn = false
      } else {
        guard let kind = AttackCampaignKind(rawValue: campaign) else {
          throw ValidationError(
            "unknown campaign '\(campaign)'; one of "
              + AttackCampaignKind.allCases.map(\.rawValue).joined(separator: ", ") + ", none")
        }
        options.campaign = kind
      }
    }
    if let byzantine {
      guard let strategy = ByzantineStrategy(rawValue: byzantine) else {
        throw ValidationError(
          "unknown strategy '\(byzantine)'; one of "
            + ByzantineStrategy.allCases.map(\.rawValue).joined(separator: ", "))
      }
      options.forcedStrategy = strategy
    }
    for name in inject {
      guard let fault = InjectedFaultName.fault(named: name) else {
        throw ValidationError(
          "unknown fault '\(name)'; one of "
            + InjectedFaultName.all.map(\.name).joined(separator: ", "))
      }
      options.injectedFaults.insert(fault)
    }
    let first = from ?? UInt64.random(in: 0...UInt64(UInt32.max))
    let count = seeds
    let verbose = verbose
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("simulating \(count) seeds from \(first) on \(cores) cores")
    let summary = await SimulationSweep.run(
      from: first, count: count, options: options, parallelism: cores
    ) { result, done in
      if verbose || count == 1 {
        print(result.parameters.description)
        print(Self.outcome(result))
      } else if result.violation != nil {
        print("seed \(result.seed): VIOLATION \(result.violation!.invariant.rawValue)")
      } else if done % max(1, count / 10) == 0 {
        print("  \(done)/\(count) runs")
      }
    }
    for result in summary.violations {
      print("\nVIOLATION at seed \(result.seed)")
      print(result.parameters.description)
      print(result.violation!.description)
      print("reproduce: \(result.reproduceCommand)")
    }
    print(
      """
      runs \(summary.runs), violations \(summary.violations.count), liveness checked \
      \(summary.livenessChecked), liveness not checked \(summary.livenessNotChecked) \
      (\(summary.inventedRequestRuns) after an invented request executed with macs)
      simulated requests \(summary.requests), simulated messages \(summary.messages), \
      events \(summary.events)
      wall \(String(format: "%.2f", summary.wallSeconds)) s, \
      \(String(format: "%.0f", summary.requestsPerSecond)) simulated requests/s
      runs with a view change \(summary.runsWithViewChange), adversary moves \
      \(summary.adversaryMoves), messages held back \(summary.messagesHeld)
      strategies exercised: \(summary.strategies.sorted().map(\.rawValue).joined(separator: ", "))
      client auth: signatures \(summary.runs(.signatures)) runs, macs \(summary.runs(.macs)) \
      runs; with a Byzantine client \(summary.runsWithByzantineClient)
      """)
    if json {
      let object: [String: Any] = [
        "from": first, "runs": summary.runs, "violations": summary.violations.count,
        "violatingSeeds": summary.violations.map(\.seed),
        "livenessChecked": summary.livenessChecked,
        "livenessNotChecked": summary.livenessNotChecked, "requests": summary.requests,
        "inventedRequestRuns": summary.inventedRequestRuns,
        "messages": summary.messages, "events": summary.events,
        "wallSeconds": summary.wallSeconds, "requestsPerSecond": summary.requestsPerSecond,
        "reproduce": summary.violations.map(\.reproduceCommand),
        "signatureRuns": summary.runs(.signatures), "macRuns": summary.runs(.macs),
        "byzantineClientRuns": summary.runsWithByzantineClient,
      ]
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    }
    if !summary.violations.isEmpty { throw ExitCode(1) }
  }

  static func outcome(_ result: SimulationResult) -> String {
    if let violation = result.violation {
      return "seed \(result.seed): \(violation)\nreproduce: \(result.reproduceCommand)"
    }
    return "seed \(result.seed): ok, \(result.requestsAccepted) requests accepted,"
      + " \(result.messagesSent) messages, \(result.events) events, simulated"
      + " \(result.simulatedTime / 1000) ms, liveness "
      + (result.livenessChecked ? "checked" : "not checked (\(result.livenessNote ?? "-"))")
      + ", highest view \(result.highestView), adversary moves \(result.adversaryMoves),"
      + " messages held \(result.messagesHeld), trace hash \(String(result.traceHash, radix: 16))"
  }
}
