import HybsterCore
import Testing

@testable import HybsterSimulation

/// Issue 10, item 4: each weakened view-change rule of ``InjectedFaults`` is caught
/// by the simulator, through the directed attack that targets it
/// (``AttackCampaignKind``; §5.2.3), and the same attack finds nothing against the
/// fixed rules.
@Suite("Mutation check: directed attacks catch each weakened rule (issue 10)")
struct MutationTests {
  static let seeds: [UInt64] = [1, 3, 4]

  static func violations(_ campaign: AttackCampaignKind, injecting faults: InjectedFaults) async
    -> [UInt64]
  {
    var options = SimulationOptions(injectedFaults: faults, traceLength: 5)
    options.campaign = campaign
    var violating: [UInt64] = []
    for seed in seeds where await SimulationSweep.run(seed: seed, options: options).violation != nil
    {
      violating.append(seed)
    }
    return violating
  }

  @Test(
    "§5.2.3: the campaign catches its weakened rule and is clean on the fixed one",
    arguments: AttackCampaignKind.allCases)
  func caught(campaign: AttackCampaignKind) async {
    #expect(await !Self.violations(campaign, injecting: campaign.catches).isEmpty)
    #expect(await Self.violations(campaign, injecting: []).isEmpty)
  }

  @Test("A forced campaign runs with n = 3, one pillar and one adaptive replica")
  func campaignParameters() throws {
    var options = SimulationOptions()
    options.campaign = .lateWindow
    let parameters = SimulationParameters(seed: 5, options: options)
    let plan = try #require(parameters.campaign)
    #expect(parameters.configuration.replicaCount == 3)
    #expect(parameters.configuration.pillarCount == 1)
    #expect(parameters.byzantine.map(\.replica) == [plan.byzantine])
    #expect(parameters.byzantine.map(\.strategy) == [.adaptive])
    #expect(Set([plan.byzantine, plan.delivering, plan.lagging]) == [0, 1, 2])
    #expect(parameters.holdBack.isEmpty && parameters.partitions.isEmpty)
    #expect(parameters.description.contains("campaign lateWindow"))
    #expect(options.commandLineFlags.contains("--campaign lateWindow"))
  }
}
