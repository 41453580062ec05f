import HybsterCore
import HybsterSimulation
import Testing

/// The bounded exhaustive explorer (issue 10, item 3) drives the real core: its
/// kept counterexamples must reach their agreement violations with their bugs
/// injected and none without, its search must find them by itself from a prefix,
/// and small bounds from the initial state must be clean on the fixed core.
@Suite("Explorer")
struct ExplorerTests {
  /// §5.2.3 and §5.2.2: each kept trace, replayed step by step, breaks agreement
  /// with its bug injected (the old code) and does not without it.
  @Test(arguments: RegressionTrace.all.map(\.name))
  func regressionTraceReplays(name: String) throws {
    let trace = try #require(RegressionTrace.named(name))
    let broken = ExplorerTrace.replay(trace.steps, bounds: trace.bounds)
    #expect(broken.failed == nil, "\(String(describing: broken.failed))")
    #expect(broken.violation?.property == .agreement)
    #expect(broken.applied == trace.steps.count)

    var fixed = trace.bounds
    fixed.injectedFaults = []
    let clean = ExplorerTrace.replay(trace.steps, bounds: fixed)
    #expect(clean.violation == nil, "\(String(describing: clean.violation))")
  }

  /// The exhaustive search finds each kept violation by itself from its trace's
  /// prefix with the bug injected, and finds nothing within the same bounds
  /// without it.
  @Test(arguments: RegressionTrace.all.map(\.name))
  func searchFindsRegressionFromPrefix(name: String) throws {
    let trace = try #require(RegressionTrace.named(name))
    let prefix = Array(trace.steps.prefix(trace.prefix))
    let broken = try ExplorerSearch.run(bounds: trace.searchBounds, prefix: prefix)
    let (violation, counterexample) = try #require(broken.counterexample)
    #expect(violation.property == .agreement)
    // The counterexample it prints replays to the same violation.
    let replay = ExplorerTrace.replay(counterexample, bounds: trace.bounds)
    #expect(replay.violation == violation)

    var fixed = trace.searchBounds
    fixed.injectedFaults = []
    let clean = try ExplorerSearch.run(bounds: fixed, prefix: prefix)
    #expect(clean.counterexample == nil, "\(clean)")
    #expect(!clean.truncated)
    #expect(clean.states > 10)
  }

  /// A shallow injected bug is found from the initial state: with f votes a
  /// committed certificate (§5.2.1), a Byzantine leader of a later view gets a
  /// second batch delivered at order 1.
  @Test func searchFindsCommitQuorumOfFFromScratch() throws {
    var bounds = ExplorerBounds()
    bounds.depth = 3
    bounds.byzantineMoves = 2
    bounds.timeouts = 0
    bounds.injectedFaults = .commitQuorumOfF
    let result = try ExplorerSearch.run(bounds: bounds)
    let (violation, trace) = try #require(result.counterexample)
    #expect(violation.property == .agreement)
    #expect(ExplorerTrace.replay(trace, bounds: bounds).violation == violation)
  }

  /// The CI bound: small configurations from the initial state, P = 1 and P = 2
  /// with and without rotating leaders (§5.3), find nothing on the fixed core.
  @Test(arguments: [(1, false), (2, false), (2, true)])
  func smallBoundsAreClean(pillars: Int, rotate: Bool) throws {
    var bounds = ExplorerBounds()
    bounds.pillars = pillars
    bounds.rotateLeaders = rotate
    bounds.depth = pillars == 1 ? 4 : 3
    bounds.byzantineMoves = 1
    bounds.timeouts = 1
    let result = try ExplorerSearch.run(bounds: bounds)
    #expect(result.counterexample == nil, "\(result)")
    #expect(!result.truncated)
    #expect(result.states > 50)
  }

  /// Issue 13, the gap of MAC authenticators: the Byzantine leader of view 0 proposes
  /// an invented request to R1 alone, which refuses to COMMIT it but keeps it; R0's
  /// VIEW-CHANGE makes R1 the leader of view 1, whose NEW-VIEW must re-propose it.
  /// With MACs R2 cannot check it and executes it (found within the bound); with
  /// signatures no correct replica executes it.
  @Test(arguments: ClientAuthMode.allCases)
  func inventedRequestThroughNewView(mode: ClientAuthMode) throws {
    var bounds = ExplorerBounds()
    bounds.byzantine = 0
    bounds.maxView = 1
    bounds.depth = 3
    bounds.byzantineMoves = 2
    bounds.timeouts = 1
    bounds.inventedRequests = true
    bounds.clientAuthentication = mode
    let prefix = try ExplorerTrace.parse("request 0 -> r1\nrequest 0 -> r2\ntimeout r1")
    let result = try ExplorerSearch.run(bounds: bounds, prefix: prefix)
    switch mode {
    case .macs:
      let (violation, trace) = try #require(result.counterexample)
      #expect(violation.property == .validity)
      #expect(ExplorerTrace.replay(trace, bounds: bounds).violation == violation)
    case .signatures:
      #expect(result.counterexample == nil, "\(result)")
      #expect(!result.truncated)
      #expect(result.states > 10)
    }
  }

  /// The search is deterministic: the same bounds explore the same number of
  /// states and print the same counterexample.
  @Test func searchIsDeterministic() throws {
    var bounds = ExplorerBounds()
    bounds.depth = 3
    bounds.byzantineMoves = 2
    bounds.injectedFaults = .commitQuorumOfF
    let first = try ExplorerSearch.run(bounds: bounds)
    let second = try ExplorerSearch.run(bounds: bounds)
    #expect(first.states == second.states)
    #expect(first.transitions == second.transitions)
    #expect(first.counterexample?.trace == second.counterexample?.trace)
  }

  /// A printed trace parses back to the same steps.
  @Test(arguments: RegressionTrace.all.map(\.name))
  func traceTextRoundTrips(name: String) throws {
    let trace = try #require(RegressionTrace.named(name))
    #expect(try ExplorerTrace.parse(ExplorerTrace.text(trace.steps)) == trace.steps)
    let numbered = ExplorerTrace.render(trace.steps).joined(separator: "\n")
    #expect(try ExplorerTrace.parse("# a comment\n" + numbered) == trace.steps)
  }
}
