import HybsterCore

/// What a search found, and how much it looked at.
public struct ExplorerResult: Sendable, CustomStringConvertible {
  /// The bounds searched.
  public var bounds: ExplorerBounds
  /// The steps taken before the search began (a trace's prefix; empty from the
  /// initial state).
  public var prefix: [ExplorerStep]
  /// Distinct states explored (by fingerprint).
  public var states: Int
  /// Transitions taken (steps applied), revisits included.
  public var transitions: Int
  /// The deepest path explored below the prefix.
  public var deepest: Int
  /// The first violation found, with the full replayable trace (prefix included).
  public var counterexample: (violation: SafetyViolation, trace: [ExplorerStep])?
  /// Whether the search stopped at ``ExplorerBounds/stateLimit`` before finishing.
  public var truncated: Bool
  /// Wall-clock seconds.
  public var seconds: Double

  public var description: String {
    var lines = [
      "bounds: \(bounds.summary)"
        + (prefix.isEmpty ? "" : " (after a prefix of \(prefix.count) steps)"),
      "states explored: \(states), transitions: \(transitions), deepest path: \(deepest),"
        + " \(String(format: "%.1f", seconds)) s" + (truncated ? " (cut at the state limit)" : ""),
    ]
    if let (violation, trace) = counterexample {
      lines.append("VIOLATION: \(violation)")
      lines.append("counterexample (\(trace.count) steps, replay with `hybster explore --replay`):")
      lines += ExplorerTrace.render(trace)
    } else {
      lines.append(truncated ? "no violation found before the limit" : "no violation within bounds")
    }
    return lines.joined(separator: "\n")
  }
}

/// The bounded exhaustive search (issue 10, item 3): depth-first over every
/// enabled step (``ExplorerWorld/enabledSteps()``) up to the depth bound, checking
/// the safety properties after every step.
///
/// A visited table keyed by the state's fingerprint prunes a state reached again
/// unless it is reached with more of some budget left (fewer steps, Byzantine
/// moves or timeouts used) than before, so the search is exhaustive within its
/// bounds. The order of exploration depends only on the states, never on the
/// process, so runs are deterministic.
public struct ExplorerSearch {
  struct Budget {
    var depth: Int
    var byzantine: Int
    var timeouts: Int

    func dominates(_ other: Budget) -> Bool {
      depth <= other.depth && byzantine <= other.byzantine && timeouts <= other.timeouts
    }
  }

  let bounds: ExplorerBounds
  var visited: [UInt64: Budget] = [:]
  var transitions = 0
  var deepest = 0
  var truncated = false
  var path: [ExplorerStep] = []
  var found: (violation: SafetyViolation, trace: [ExplorerStep])?

  /// A search within `bounds`.
  public init(bounds: ExplorerBounds) {
    self.bounds = bounds
  }

  /// Explores every path of at most ``ExplorerBounds/depth`` steps after `prefix`
  /// (whose steps must all apply; budgets count from its end). `progress` is called
  /// every `progressEvery` new states with the number explored so far.
  public static func run(
    bounds: ExplorerBounds, prefix: [ExplorerStep] = [], progressEvery: Int = 0,
    progress: (Int) -> Void = { _ in }
  ) throws(ReplayError) -> ExplorerResult {
    let start = ContinuousClock.now
    var world = ExplorerWorld(bounds: bounds)
    world.budgeted = false
    for (index, step) in prefix.enumerated() {
      guard world.apply(step) else { throw ReplayError(index: index, step: step) }
      if let violation = world.violation {
        return ExplorerResult(
          bounds: bounds, prefix: prefix, states: 0, transitions: 0, deepest: 0,
          counterexample: (violation, Array(prefix[...index])), truncated: false,
          seconds: Self.seconds(since: start))
      }
    }
    world.byzantineMovesUsed = 0
    world.timeoutsUsed = 0
    world.budgeted = true
    var search = ExplorerSearch(bounds: bounds)
    search.path = prefix
    search.explore(world, depth: 0, progressEvery: progressEvery, progress: progress)
    return ExplorerResult(
      bounds: bounds, prefix: prefix, states: search.visited.count,
      transitions: search.transitions, deepest: search.deepest,
      counterexample: search.found, truncated: search.truncated,
      seconds: Self.seconds(since: start))
  }

  static func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
  }

  mutating func explore(
    _ world: ExplorerWorld, depth: Int, progressEvery: Int, progress: (Int) -> Void
  ) {
    let budget = Budget(
      depth: depth, byzantine: world.byzantineMovesUsed, timeouts: world.timeoutsUsed)
    let fingerprint = world.fingerprint
    if let known = visited[fingerprint], known.dominates(budget) { return }
    if visited[fingerprint] == nil, visited.count >= bounds.stateLimit {
      truncated = true
      return
    }
    let isNew = visited[fingerprint] == nil
    visited[fingerprint] = budget
    if isNew, progressEvery > 0, visited.count % progressEvery == 0 { progress(visited.count) }
    deepest = max(deepest, depth)
    guard depth < bounds.depth else { return }
    for step in world.enabledSteps() {
      guard found == nil, !truncated else { return }
      var next = world
      guard next.apply(step) else { continue }
      transitions += 1
      path.append(step)
      if let violation = next.violation {
        found = (violation, path)
        return
      }
      explore(next, depth: depth + 1, progressEvery: progressEvery, progress: progress)
      path.removeLast()
    }
  }
}

/// A trace step that could not be taken.
public struct ReplayError: Error, Sendable, CustomStringConvertible {
  /// Its index in the trace.
  public var index: Int
  /// The step.
  public var step: ExplorerStep

  public var description: String { "step \(index + 1) (\(step)) is not possible" }
}
