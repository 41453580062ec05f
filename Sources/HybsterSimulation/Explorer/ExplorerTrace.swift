import HybsterCore

/// Counterexamples as replayable traces: one ``ExplorerStep`` per line, in the
/// text ``ExplorerStep/init(parsing:)`` reads back.
public enum ExplorerTrace {
  /// The outcome of replaying a trace.
  public struct Replay: Sendable {
    /// The steps that were taken (all of them, unless one was not possible or a
    /// violation stopped the replay).
    public var applied: Int
    /// The violation the trace reached, if any.
    public var violation: SafetyViolation?
    /// The step that could not be taken, if one could not.
    public var failed: ReplayError?
  }

  /// Numbered lines, one per step.
  public static func render(_ trace: [ExplorerStep]) -> [String] {
    trace.enumerated().map { "  \(String($0.offset + 1).padding(3)) \($0.element)" }
  }

  /// The trace as text: one step per line (comments start with `#`).
  public static func text(_ trace: [ExplorerStep]) -> String {
    trace.map(\.description).joined(separator: "\n")
  }

  /// Parses ``text(_:)``; blank lines and `#` comments are skipped. Throws the line
  /// that does not parse.
  public static func parse(_ text: String) throws(TraceParseError) -> [ExplorerStep] {
    var steps: [ExplorerStep] = []
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    {
      var line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
      // Rendered traces are numbered: drop a leading step number.
      let words = line.split(separator: " ")
      if let first = words.first, Int(first) != nil {
        line = line.drop { $0 == " " }.drop { $0.isNumber }
      }
      let trimmed = line.trimmingSpaces
      guard !trimmed.isEmpty else { continue }
      guard let step = ExplorerStep(parsing: String(trimmed)) else {
        throw TraceParseError(line: number + 1, text: String(raw))
      }
      steps.append(step)
    }
    return steps
  }

  /// Replays `trace` from the initial state of `bounds`; stops at the first
  /// violation or at a step that is not possible. Budgets do not apply.
  public static func replay(_ trace: [ExplorerStep], bounds: ExplorerBounds) -> Replay {
    var world = ExplorerWorld(bounds: bounds)
    world.budgeted = false
    for (index, step) in trace.enumerated() {
      guard world.apply(step) else {
        return Replay(applied: index, violation: nil, failed: ReplayError(index: index, step: step))
      }
      if let violation = world.violation {
        return Replay(applied: index + 1, violation: violation, failed: nil)
      }
    }
    return Replay(applied: trace.count, violation: nil, failed: nil)
  }
}

/// A trace line that does not parse.
public struct TraceParseError: Error, Sendable, CustomStringConvertible {
  /// Its line number (1-based).
  public var line: Int
  /// Its text.
  public var text: String

  public var description: String { "line \(line) is not a step: \(text)" }
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}

extension StringProtocol {
  fileprivate var trimmingSpaces: SubSequence {
    let start = firstIndex { $0 != " " && $0 != "\t" } ?? endIndex
    let end = lastIndex { $0 != " " && $0 != "\t" }.map { index(after: $0) } ?? start
    return self[start..<Swift.max(start, end)]
  }
}
