import Foundation
import HybsterCore

/// The totals of a sweep over consecutive seeds.
public struct SweepSummary: Sendable {
  /// Runs completed.
  public var runs = 0
  /// Runs that broke an invariant, by seed.
  public var violations: [SimulationResult] = []
  /// Runs whose liveness phase was checked and held.
  public var livenessChecked = 0
  /// Runs where liveness could not be required (Byzantine leader, state transfer).
  public var livenessNotChecked = 0
  /// Client requests accepted in all runs.
  public var requests = 0
  /// Replica messages sent in all runs.
  public var messages = 0
  /// Events processed in all runs.
  public var events = 0
  /// Moves of adaptive adversaries in all runs.
  public var adversaryMoves = 0
  /// Messages the adversarial scheduler held back in all runs.
  public var messagesHeld = 0
  /// Runs in which a correct replica installed a view above 0.
  public var runsWithViewChange = 0
  /// Runs by client authentication mode (issue 13).
  public var runsByAuthentication: [ClientAuthMode: Int] = [:]
  /// Runs with a Byzantine client.
  public var runsWithByzantineClient = 0
  /// Runs not liveness-checked because a request its client never sent executed
  /// (only possible with `macs`).
  public var inventedRequestRuns = 0
  /// Every Byzantine strategy some run used.
  public var strategies: Set<ByzantineStrategy> = []
  /// Wall-clock seconds.
  public var wallSeconds = 0.0

  /// Simulated (client-accepted) requests per wall-clock second.
  public var requestsPerSecond: Double { wallSeconds > 0 ? Double(requests) / wallSeconds : 0 }

  mutating func add(_ result: SimulationResult) {
    runs += 1
    if result.violation != nil { violations.append(result) }
    if result.livenessChecked {
      livenessChecked += 1
    } else if result.violation == nil {
      livenessNotChecked += 1
    }
    requests += result.requestsAccepted
    messages += result.messagesSent
    events += result.events
    strategies.formUnion(result.strategies)
    adversaryMoves += result.adversaryMoves
    messagesHeld += result.messagesHeld
    if result.highestView > 0 { runsWithViewChange += 1 }
    runsByAuthentication[result.parameters.clientAuthentication, default: 0] += 1
    if result.parameters.byzantineClient != nil { runsWithByzantineClient += 1 }
    if result.inventedRequestExecuted { inventedRequestRuns += 1 }
  }

  /// The runs in client authentication mode `mode`.
  public func runs(_ mode: ClientAuthMode) -> Int { runsByAuthentication[mode] ?? 0 }
}

/// Runs many seeds in parallel, one seed per child task.
public enum SimulationSweep {
  /// Runs seeds `from ..< from + count` with up to `parallelism` at a time.
  /// `progress` is called after each run (in completion order) with the run and
  /// the number completed so far. With `stopAtFirstViolation` no new seed starts
  /// once one failed.
  public static func run(
    from: UInt64, count: Int, options: SimulationOptions = SimulationOptions(),
    parallelism: Int = ProcessInfo.processInfo.activeProcessorCount,
    stopAtFirstViolation: Bool = false,
    progress: (@Sendable (SimulationResult, Int) -> Void)? = nil
  ) async -> SweepSummary {
    let start = ContinuousClock.now
    var summary = SweepSummary()
    await withTaskGroup(of: SimulationResult.self) { group in
      var next = 0
      var running = 0
      func startNext() {
        let seed = from &+ UInt64(next)
        next += 1
        running += 1
        group.addTask { await run(seed: seed, options: options) }
      }
      while next < count, running < max(1, parallelism) { startNext() }
      while let result = await group.next() {
        running -= 1
        summary.add(result)
        progress?(result, summary.runs)
        let stop = stopAtFirstViolation && !summary.violations.isEmpty
        if next < count, !stop { startNext() }
      }
    }
    summary.violations.sort { $0.seed < $1.seed }
    let elapsed = ContinuousClock.now - start
    summary.wallSeconds =
      Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return summary
  }

  /// Runs one seed on a thread of its own, not on Swift's cooperative pool: a run
  /// computes for up to seconds without suspending, and runs that held the pool's
  /// threads (one per core) starved every other task of the process, such as the
  /// tests that time real replicas beside a sweep in `swift test`. The thread runs
  /// at a lower CPU priority (``backgroundNiceness``): alone on a machine a sweep
  /// runs as fast, and beside anything interactive it yields.
  public static func run(seed: UInt64, options: SimulationOptions = SimulationOptions()) async
    -> SimulationResult
  {
    await withCheckedContinuation { finished in
      let thread = Thread {
        lowerPriority()
        finished.resume(returning: Simulator.run(seed: seed, options: options))
      }
      thread.stackSize = 16 << 20
      thread.start()
    }
  }

  /// The nice value of a simulation thread.
  public static let backgroundNiceness: Int32 = 10

  /// Lowers the calling thread's CPU priority to ``backgroundNiceness`` (Linux keeps
  /// a nice value per thread); never raises it.
  private static func lowerPriority() {
    #if os(Linux)
      let thread = __priority_which_t(PRIO_PROCESS.rawValue)
      errno = 0
      let current = getpriority(thread, 0)
      if errno == 0, current < backgroundNiceness {
        _ = setpriority(thread, 0, backgroundNiceness)
      }
    #endif
  }
}
