import HybsterCore
import Testing

@testable import HybsterSimulation

/// Issue 13 in the simulator: invented requests with client signatures, Byzantine
/// clients in both modes, and the validity checker's ability to fail.
@Suite("Simulator: client authentication and Byzantine clients (issue 13)")
struct ClientAuthenticationSweepTests {
  static func record(_ summary: SweepSummary, _ label: String) {
    for result in summary.violations {
      let text =
        "\(label): seed \(result.seed): \(result.violation!)\n\(result.parameters)\n"
        + "reproduce: \(result.reproduceCommand)"
      Issue.record(Comment(rawValue: text))
    }
  }

  @Test("signatures: every inventRequests run is clean and liveness-checked")
  func inventedRequestsWithSignatures() async {
    var options = SimulationOptions(forcedStrategy: .inventRequests)
    options.clientAuthentication = .signatures
    let summary = await SimulationSweep.run(from: 13_000, count: 24, options: options)
    Self.record(summary, "inventRequests, signatures")
    #expect(summary.violations.isEmpty)
    #expect(summary.inventedRequestRuns == 0)
    #expect(summary.livenessChecked == summary.runs)
  }

  @Test("macs: inventRequests runs are safe; an executed invention only waives liveness")
  func inventedRequestsWithMACs() async {
    var options = SimulationOptions(forcedStrategy: .inventRequests, byzantineAtMaximum: true)
    options.clientAuthentication = .macs
    let summary = await SimulationSweep.run(from: 13_000, count: 12, options: options)
    Self.record(summary, "inventRequests, macs")
    #expect(summary.violations.isEmpty)
    #expect(summary.livenessChecked + summary.inventedRequestRuns == summary.runs)
  }

  @Test(
    "a Byzantine client splits no correct replicas and loses no honest request",
    arguments: ClientAuthMode.allCases)
  func byzantineClient(mode: ClientAuthMode) async {
    var options = SimulationOptions()
    options.clientAuthentication = mode
    options.byzantineClient = true
    let summary = await SimulationSweep.run(from: 13_100, count: 24, options: options)
    Self.record(summary, "Byzantine client, \(mode)")
    #expect(summary.violations.isEmpty)
    #expect(summary.runsWithByzantineClient == summary.runs)
    if mode == .signatures {
      #expect(summary.inventedRequestRuns == 0)
    }
    // Only a discarded journal (issue 12) or, with MACs, an invention of a faulty
    // leader may waive liveness.
    #expect(summary.livenessChecked >= summary.runs * 3 / 4)
  }

  @Test("seeds draw the mode (mostly signatures) and a Byzantine client; options force both")
  func drawnAndForced() {
    let drawn = (1...200).map { SimulationParameters(seed: $0) }
    let macs = drawn.filter { $0.clientAuthentication == .macs }.count
    #expect(macs > 10 && macs < 80)
    let withClient = drawn.filter { $0.byzantineClient != nil }.count
    #expect(withClient > 10 && withClient < 100)
    var options = SimulationOptions()
    options.clientAuthentication = .macs
    options.byzantineClient = false
    for seed: UInt64 in 1...20 {
      let parameters = SimulationParameters(seed: seed, options: options)
      #expect(parameters.clientAuthentication == .macs)
      #expect(parameters.byzantineClient == nil)
    }
    #expect(options.commandLineFlags.contains("--client-auth macs --no-byzantine-client"))
    // The other parameters of a seed do not depend on the new draws.
    let forced = SimulationParameters(seed: 7, options: options)
    let plain = SimulationParameters(seed: 7)
    #expect(forced.configuration.replicaCount == plain.configuration.replicaCount)
    #expect(forced.clients == plain.clients && forced.crashes == plain.crashes)
  }

  @Test("the validity checker fails a run in which a correct replica executes a forged request")
  func validityCheckerCanFail() throws {
    var options = SimulationOptions()
    options.clientAuthentication = .signatures
    let run = SimulationRun(parameters: SimulationParameters(seed: 3, options: options))
    let genuine = run.keys.credentials(0).request(lane: 0, sequence: 1, operation: [1])
    run.sentPayloads.insert(genuine.payloadDigest)
    run.checkValidity(1, order: 1, batch: Batch(requests: [genuine]))
    #expect(run.violation == nil)
    var forged = genuine
    forged.operation = [2]
    run.checkValidity(1, order: 2, batch: Batch(requests: [genuine, forged]))
    let violation = try #require(run.violation)
    #expect(violation.invariant == .validity)
  }

  @Test("one Ed25519 verification per distinct signature in a run")
  func signaturesAreVerifiedOnce() {
    var options = SimulationOptions()
    options.clientAuthentication = .signatures
    options.byzantineClient = false
    // A seed without Byzantine replicas (their inventions carry fresh signatures).
    let seed = (UInt64(1)...).first {
      SimulationParameters(seed: $0, options: options).byzantine.isEmpty
    }!
    let result = Simulator.run(seed: seed, options: options)
    #expect(result.violation == nil)
    #expect(result.signatureVerifications > 0)
    // Every request a client sent was checked by every correct replica's pillars;
    // the memo verified each signature once (retransmissions share it).
    #expect(result.signatureVerifications <= result.requestsAccepted + 64)
  }
}
