import ArgumentParser
import Foundation
import HybsterCore
import HybsterSimulation

/// `hybster explore`: the bounded exhaustive state-space explorer (issue 10).
struct ExploreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explore",
    abstract: "Explore every interleaving and Byzantine choice of a small group to a bound.",
    discussion: """
      n = 3 replicas (f = 1) run the real core; one is Byzantine and moves from a finite \
      menu built with its own TrInX instances. Every state is checked for agreement, \
      validity, the window bound and checkpoint digests; a violation prints a replayable \
      trace. --regression NAME replays a kept counterexample and searches exhaustively \
      from its prefix; --replay FILE replays a printed trace.
      """
  )

  @Option(help: "Pillars per replica (§5.3).")
  var pillars = 1

  @Flag(help: "Rotating leaders (pillar u led by (v+u) mod n in views that are multiples of n).")
  var rotate = false

  @Option(help: "Checkpoint interval K in global order numbers (a multiple of --pillars).")
  var checkpointInterval: UInt64 = 2

  @Option(help: "Window size as a multiple of K.")
  var windowFactor: UInt64 = 2

  @Option(help: "Client requests (one lane each).")
  var requests = 1

  @Option(help: "The Byzantine replica (0-2), or 'none'.")
  var byzantine = "2"

  @Option(help: "The most steps on a path.")
  var depth = 5

  @Option(help: "The highest view any replica may support.")
  var maxView: UInt64 = 2

  @Option(help: "The most Byzantine moves on a path.")
  var byzantineMoves = 1

  @Option(help: "The most view-change timeouts on a path.")
  var timeouts = 1

  @Option(
    help: ArgumentHelp(
      "Inject a deliberate bug into the correct replicas (the old code).",
      valueName: InjectedFaultName.all.map(\.name).joined(separator: "|")))
  var inject: [String] = []

  @Flag(help: "Keep STATUS messages in the network.")
  var status = false

  @Flag(help: "Let the Byzantine replica propose a request no client sent.")
  var inventedRequests = false

  @Option(
    help: ArgumentHelp(
      "Client request authentication (issue 13).",
      valueName: ClientAuthMode.allCases.map(\.rawValue).joined(separator: "|")))
  var clientAuth = ClientAuthMode.signatures.rawValue

  @Option(help: "Stop after this many states.")
  var stateLimit = 5_000_000

  @Option(help: "Print progress every this many states (0: never).")
  var progress = 100_000

  @Option(help: "Replay a kept counterexample and search from its prefix; 'list' lists them.")
  var regression: String?

  @Option(help: "Replay the trace in this file (one step per line, as printed).")
  var replay: String?

  func run() throws {
    if regression == "list" {
      for trace in RegressionTrace.all { print("\(trace.name): \(trace.summary)") }
      return
    }
    if let name = regression {
      guard let trace = RegressionTrace.named(name) else {
        throw ValidationError(
          "unknown regression '\(name)'; one of "
            + RegressionTrace.all.map(\.name).joined(separator: ", "))
      }
      try runRegression(trace)
      return
    }
    let bounds = try makeBounds()
    if let replay {
      let text = try String(contentsOfFile: replay, encoding: .utf8)
      let steps = try ExplorerTrace.parse(text)
      report(ExplorerTrace.replay(steps, bounds: bounds), steps: steps, bounds: bounds)
      return
    }
    print("exploring \(bounds.summary)")
    let result = try ExplorerSearch.run(bounds: bounds, progressEvery: progress) { states in
      print("  \(states) states")
    }
    print(result)
    if result.counterexample != nil { throw ExitCode(1) }
  }

  func makeBounds() throws -> ExplorerBounds {
    var bounds = ExplorerBounds()
    guard (1...4).contains(pillars) else { throw ValidationError("--pillars must be 1-4") }
    guard checkpointInterval >= 1, checkpointInterval % UInt64(pillars) == 0 else {
      throw ValidationError("--checkpoint-interval must be a positive multiple of --pillars")
    }
    guard windowFactor >= 2, windowFactor <= 8 else {
      throw ValidationError("--window-factor must be 2-8")
    }
    guard (0...8).contains(requests) else { throw ValidationError("--requests must be 0-8") }
    guard depth >= 0, maxView >= 1, byzantineMoves >= 0, timeouts >= 0, stateLimit >= 1 else {
      throw ValidationError("bounds must not be negative; --max-view at least 1")
    }
    bounds.pillars = pillars
    bounds.rotateLeaders = rotate
    bounds.checkpointInterval = checkpointInterval
    bounds.windowFactor = windowFactor
    bounds.requests = requests
    if byzantine == "none" {
      bounds.byzantine = nil
    } else {
      guard let replica = ReplicaID(byzantine), replica < 3 else {
        throw ValidationError("--byzantine must be 0, 1, 2 or none")
      }
      bounds.byzantine = replica
    }
    bounds.depth = depth
    bounds.maxView = maxView
    bounds.byzantineMoves = byzantineMoves
    bounds.timeouts = timeouts
    for name in inject {
      guard let fault = InjectedFaultName.fault(named: name) else {
        throw ValidationError(
          "unknown fault '\(name)'; one of "
            + InjectedFaultName.all.map(\.name).joined(separator: ", "))
      }
      bounds.injectedFaults.insert(fault)
    }
    bounds.includeStatus = status
    bounds.inventedRequests = inventedRequests
    guard let mode = ClientAuthMode(rawValue: clientAuth) else {
      throw ValidationError(
        "unknown client authentication '\(clientAuth)'; one of "
          + ClientAuthMode.allCases.map(\.rawValue).joined(separator: ", "))
    }
    bounds.clientAuthentication = mode
    bounds.stateLimit = stateLimit
    return bounds
  }

  /// Replays the kept trace with its bug (and, with --inject given or not, as the
  /// flags say), then searches from its prefix.
  func runRegression(_ trace: RegressionTrace) throws {
    var bounds = trace.bounds
    var search = trace.searchBounds
    if !inject.isEmpty || injectNone {
      bounds.injectedFaults = try makeBounds().injectedFaults
      search.injectedFaults = bounds.injectedFaults
    }
    print("\(trace.name): \(trace.summary)")
    report(ExplorerTrace.replay(trace.steps, bounds: bounds), steps: trace.steps, bounds: bounds)
    let prefix = Array(trace.steps.prefix(trace.prefix))
    print("\nsearching from the state after step \(trace.prefix):")
    let result = try ExplorerSearch.run(bounds: search, prefix: prefix)
    print(result)
  }

  @Flag(help: "With --regression: inject no bug (the fixed code).")
  var injectNone = false

  func report(_ replay: ExplorerTrace.Replay, steps: [ExplorerStep], bounds: ExplorerBounds) {
    print("replaying \(steps.count) steps, \(bounds.summary)")
    for line in ExplorerTrace.render(Array(steps.prefix(replay.applied))) { print(line) }
    if let failed = replay.failed { print("stopped: \(failed)") }
    print(replay.violation.map { "VIOLATION: \($0)" } ?? "no violation")
  }
}
