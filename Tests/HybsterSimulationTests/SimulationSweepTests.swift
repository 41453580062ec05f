import HybsterCore
import HybsterSimulation
import Testing

/// Seeds that once found a bug. Each must run clean forever after. When one is
/// found, add its seed (and the options of its reproduce command) here with what
/// it found.
let regressionSeeds: [(seed: UInt64, options: SimulationOptions)] = [
  // Liveness: a correct replica that had executed exactly up to its peers' stable
  // checkpoint never learned it was stable (peers sent the proof only to replicas
  // strictly behind it and had discarded their votes): its window stayed stuck.
  // Fixed in OrderingPillar.receiveStatus.
  (20, SimulationOptions(forcedStrategy: .wrongCheckpoint, byzantineAtMaximum: true)),
  // A correct replica more than a window behind its peers' stable checkpoint
  // rejected their CHECKPOINT proof as outside its window, so it never asked for
  // state. Fixed by learning checkpoints beyond the window (one vote per replica).
  (100_035, SimulationOptions()), (100_132, SimulationOptions()),
  (100_296, SimulationOptions()), (100_641, SimulationOptions()),
  // Liveness: view-change certificates were not provided to peers that lost one of
  // their messages; replicas moved on to different views. Fixed by resending the
  // certificate with each VIEW-CHANGE retransmission.
  (298, SimulationOptions()),
  // Liveness: a replica that left a view never learned what committed in it (STATUS
  // answers only covered the sender's view). Fixed in OrderingPillar.receiveStatus.
  (1001, SimulationOptions(forcedStrategy: .wrongCertificate)),
  // Liveness: a replica that ran one view ahead alone kept timing out just as the
  // others arrived. Fixed: the view timeout starts once a quorum supports the view.
  (20_011, SimulationOptions(forcedStrategy: .silent, byzantineAtMaximum: true)),
  // Liveness: a state transfer lost with a crash was never asked for again. Fixed:
  // the pillar repeats stateTransferNeeded while behind.
  (20_095, SimulationOptions(forcedStrategy: .equivocate, byzantineAtMaximum: true)),
  (20_076, SimulationOptions(forcedStrategy: .delayProposals, byzantineAtMaximum: true)),
  // Liveness: a VIEW-CHANGE of a replica that accepted a later view without sending
  // anything in it was rejected (it no longer held the old view's PREPAREs).
  (3_000_228, SimulationOptions(forcedStrategy: .skipOrders, byzantineAtMaximum: true)),
  // Liveness: a faulty replica's vote for a later checkpoint hid its relayed vote for
  // the one the correct replicas agreed on (one vote per replica beyond the window).
  (1_042_644, SimulationOptions()),
  // Liveness: VIEW-CHANGEs carried PREPAREs of the target view (kept for delivery) and
  // so were invalid; a later view's PREPARE displaced one the replica had COMMITted.
  (1_023_013, SimulationOptions()),
  // Liveness: a faulty replica's certified PREPARE of a future view it would lead
  // pushed out the later view's PREPARE a lagging replica needed to deliver.
  (7_028_738, SimulationOptions()),
  // Liveness: a faulty replica's CHECKPOINT votes for different digests hid the right
  // one relayed in a stable proof (one vote per replica was kept).
  (9_025_865, SimulationOptions()),
  // Liveness: a leader that keeps ordering but never a client's request (censorship)
  // was never suspected; lagging replicas chased a moving checkpoint whose snapshot
  // their peers had already discarded.
  (9_016_897, SimulationOptions()), (9_018_349, SimulationOptions()),
  // Pillars (§5.3). Pillars of one replica ended in different views (a new leader's
  // pillars installed on their own): they now lead together.
  (5001, SimulationOptions(forcedStrategy: .selectiveSend, byzantineAtMaximum: true, pillars: 3)),
  // A pillar that adopted a checkpoint execution had passed waited for a transfer.
  (300_025, SimulationOptions(pillars: 3, rotateLeaders: false)),
  // Deliveries piled up behind a lagging pillar (now bounded by the delivery limit).
  (300_750, SimulationOptions(pillars: 3, rotateLeaders: false)),
  // Rotating leaders: an unestablished view's NEW-VIEW part was never acknowledged,
  // and a lost part or acknowledgment was never resent.
  (1299, SimulationOptions(pillars: 3, rotateLeaders: true)),
  (700_625, SimulationOptions(pillars: 3, rotateLeaders: true)),
  (702_539, SimulationOptions(pillars: 3, rotateLeaders: true)),
  // Rotating leaders, n = 3 with a Byzantine replica: a replica whose peer moved two
  // views on could not follow (it now supports v+2 with a certificate for v+1), and a
  // replica's NEW-VIEW-ACK of one failed view replaced that of another (each replica's
  // last three are kept now).
  (1_000_772, SimulationOptions(pillars: 3, rotateLeaders: true)),
  (1_018_542, SimulationOptions(pillars: 3, rotateLeaders: true)),
  (1_023_529, SimulationOptions(pillars: 2, rotateLeaders: true)),
  // ...and the first version of that rule skipped, at a Byzantine replica's urging,
  // the very view a correct leader could have installed: it now waits a timeout.
  (1_108_721, SimulationOptions(pillars: 2, rotateLeaders: true)),
  (1_110_842, SimulationOptions(pillars: 2, rotateLeaders: true)),
  // Issue 10, found with the new view-change rules. Liveness: a NEW-VIEW-ACK raised
  // its sender's fromView, which then lacked f+1 vouchers, and a pillar's siblings
  // could not take it along.
  (102_700, SimulationOptions(byzantineAtMaximum: true, pillars: 3, rotateLeaders: true)),
  // Liveness: a VIEW-CHANGE after a cleaned counter ([h|0]) claiming fromView > h was
  // rejected.
  (
    201_734,
    SimulationOptions(
      forcedStrategy: .corruptViewChange, byzantineAtMaximum: true, pillars: 3,
      rotateLeaders: true)
  ),
  // Agreement (adaptive adversary): an acknowledged NEW-VIEW's PREPARE displaced the
  // committed one in the acknowledging replica's next VIEW-CHANGE.
  (1901, SimulationOptions(forcedStrategy: .adaptive, pillars: 3, rotateLeaders: false)),
  // Liveness: a faulty leader's NEW-VIEW reached one correct replica, whose later
  // certificates then needed the other to vouch for that view (the acknowledged
  // NEW-VIEW is resent now); a pillar that skipped a view its siblings supported left
  // its replica's VIEW-CHANGE for it without all parts (it supports each view now).
  (
    203_859,
    SimulationOptions(
      forcedStrategy: .corruptViewChange, byzantineAtMaximum: true, pillars: 3,
      rotateLeaders: true)
  ),
  (500_399, SimulationOptions(forcedStrategy: .adaptive, pillars: 2, rotateLeaders: true)),
  // Liveness, with a crashed and restarted replica: pillars of one replica left a
  // view at different times, so no one relayed every part of the VIEW-CHANGEs a
  // replica still changing to it needed (the certificates of the two views before
  // the target are kept and relayed now).
  (1_004_323, SimulationOptions(forcedStrategy: .adaptive, pillars: 3, rotateLeaders: false)),
  (1_006_045, SimulationOptions(forcedStrategy: .adaptive, pillars: 3, rotateLeaders: true)),
  // A replica views behind the others dropped their NEW-VIEW parts as too far ahead.
  (
    800_086,
    SimulationOptions(
      forcedStrategy: .skipOrders, byzantineAtMaximum: true, pillars: 3, rotateLeaders: true)
  ),
  // Issue 12, power cuts (every correct replica restarts from its disk). Liveness: the
  // NEW-VIEW that installed a view was not journaled, so replicas that missed it could
  // never enter the view; own VIEW-CHANGEs of earlier views were lost with the
  // certificates that relayed them; every vote for the restored checkpoint was lost,
  // so the window never moved; a restarted coordinator kept its gate closed to the
  // parts of the view its pillars were changing to.
  (30_001_088, powerCut(SimulationOptions())),
  (32_000_382, powerCut(SimulationOptions(pillars: 3, rotateLeaders: true))),
  (40_000_542, powerCut(SimulationOptions())),
  (40_002_402, powerCut(SimulationOptions())),
  (42_001_189, powerCut(SimulationOptions(pillars: 3, rotateLeaders: true))),
  (
    1_006_045,
    powerCut(SimulationOptions(forcedStrategy: .adaptive, pillars: 3, rotateLeaders: true))
  ),
  // Issue 12, adaptive suspicion timeouts. Liveness: a new leader's handed-over
  // requests got the short adaptive timeout, and two adaptive replicas had correct
  // leaders suspected one after another (a new view now gets a whole timeout).
  (94_000_288, powerCut(SimulationOptions(forcedStrategy: .adaptive))),
  (60_000_348, SimulationOptions(pillars: 3, rotateLeaders: true)),
  // Liveness: a replica that crashed during a view change did not deliver again what
  // it had committed (with another replica's vote, not journaled) until a new view
  // formed, which its peer had no reason to join.
  (300_014_483, SimulationOptions()),
  // Liveness after a power cut: the other replicas' votes for delivered instances
  // were not journaled, the faulty voter had moved its window on, and a replica
  // behind could never deliver them.
  (410_001_813, powerCut(SimulationOptions())),
  // Liveness, three pillars with rotating leaders and f adaptive replicas: a pillar
  // that skipped views dropped its own VIEW-CHANGE for one of them, which a replica
  // still changing to it needed (own VIEW-CHANGEs are kept for every skipped view);
  // a NEW-VIEW re-proposed an instance a replica had delivered in the view before,
  // and the COMMIT that completed it, which the old leader lacked, was gone (kept and resent).
  (
    300_006_403,
    SimulationOptions(
      forcedStrategy: .adaptive, byzantineAtMaximum: true, pillars: 3, rotateLeaders: true)
  ),
  // Liveness after a power cut in which one replica lost its journal and snapshot:
  // the others' proofs of the stable checkpoint held its old CHECKPOINT instead of
  // their own, and they relayed every vote but the asker's (so it never saw f+1).
  (510_006_817, SimulationOptions()),
  // The same with the leader losing its disk: it ignored its own PREPARE relayed back
  // to it, so it never delivered the last instance the others had committed.
  (530_002_320, powerCut(SimulationOptions())),
  (
    300_006_507,
    SimulationOptions(
      forcedStrategy: .adaptive, byzantineAtMaximum: true, pillars: 3, rotateLeaders: true)
  ),
  // Liveness, three pillars, n = 5, two adaptive replicas holding NEW-VIEWs back: a
  // pillar told to leave for view 4 while changing to 3 installed 3 and stayed, so
  // its replica's VIEW-CHANGE for 4 never had all its parts (it now leaves again).
  (630_000_553, SimulationOptions(forcedStrategy: .adaptive, pillars: 3, rotateLeaders: false)),
  // Liveness after a power cut in which one replica lost its journal and snapshot and
  // another lagged: the only replica with the stable checkpoint had kept just its
  // newest snapshot, after it, so the others could never fetch it (the snapshots
  // from the last stable checkpoint on are kept now).
  (670_002_643, powerCut(SimulationOptions())),
]

/// `options` with a power cut forced.
func powerCut(_ options: SimulationOptions) -> SimulationOptions {
  var options = options
  options.powerCut = true
  return options
}

/// The fixed CI sweep: seeds `sweepStart ..< sweepStart + sweepCount`.
let sweepStart: UInt64 = 1
let sweepCount = 300

@Suite("Simulator seed sweeps (issue #5)")
struct SimulationSweepTests {
  @Test("A fixed sweep of seeds breaks no invariant and exercises every Byzantine strategy")
  func fixedSweep() async {
    let summary = await SimulationSweep.run(from: sweepStart, count: sweepCount)
    for result in summary.violations {
      Issue.record(
        "seed \(result.seed): \(result.violation!)\n\(result.parameters)\nreproduce: \(result.reproduceCommand)"
      )
    }
    #expect(summary.runs == sweepCount)
    #expect(summary.violations.isEmpty)
    #expect(summary.strategies == Set(ByzantineStrategy.allCases))
    // Liveness must actually be demanded in a good share of the runs.
    #expect(summary.livenessChecked >= sweepCount / 4)
    #expect(summary.requests > 0)
    print(
      "sweep: \(summary.runs) runs, \(summary.livenessChecked) liveness-checked,"
        + " \(summary.livenessNotChecked) not checked, \(summary.requests) requests,"
        + " \(summary.messages) messages, \(summary.wallSeconds) s,"
        + " strategies \(summary.strategies.sorted().map(\.rawValue))")
  }

  @Test("Every forced Byzantine strategy runs clean on a few seeds")
  func everyStrategyForced() async {
    for strategy in ByzantineStrategy.allCases {
      let summary = await SimulationSweep.run(
        from: 1000, count: 4, options: SimulationOptions(forcedStrategy: strategy))
      #expect(summary.strategies == [strategy])
      for result in summary.violations {
        Issue.record("\(strategy): seed \(result.seed): \(result.violation!)")
      }
    }
  }

  @Test(
    "Pillars (§5.3): sweeps with 2 pillars and 3 with rotating leaders, and every strategy with f Byzantine replicas",
    arguments: [(2, false), (3, true)])
  func pillarSweeps(pillars: Int, rotate: Bool) async {
    let sweep = await SimulationSweep.run(
      from: 10_000, count: 60, options: SimulationOptions(pillars: pillars, rotateLeaders: rotate))
    #expect(sweep.livenessChecked >= 30)
    for result in sweep.violations {
      Issue.record(
        "seed \(result.seed): \(result.violation!)\nreproduce: \(result.reproduceCommand)")
    }
    // The adaptive adversary has its own sweeps (AdversaryTests, MutationTests) and
    // regression seeds above; with pillars its seeds run long, so it is left out here.
    for strategy in ByzantineStrategy.classic {
      let summary = await SimulationSweep.run(
        from: 20_000, count: 3,
        options: SimulationOptions(
          forcedStrategy: strategy, byzantineAtMaximum: true, pillars: pillars,
          rotateLeaders: rotate))
      for result in summary.violations {
        Issue.record(
          "\(strategy): seed \(result.seed): \(result.violation!)\nreproduce: \(result.reproduceCommand)"
        )
      }
    }
  }

  @Test("Regression seeds run clean")
  func regressions() async {
    for (seed, found) in regressionSeeds {
      // Found before pillars existed: they reproduce with one pillar; and before power
      // cuts were drawn (issue 12), which would replace their crashes.
      var options = found
      options.pillars = options.pillars ?? 1
      options.powerCut = options.powerCut ?? false
      let result = await SimulationSweep.run(seed: seed, options: options)
      #expect(result.violation == nil, "seed \(seed): \(String(describing: result.violation))")
    }
  }

  @Test("The same seed gives the same run", arguments: [1, 7, 42, 1234, 99_999] as [UInt64])
  func determinism(seed: UInt64) async {
    let first = await SimulationSweep.run(seed: seed)
    let second = await SimulationSweep.run(seed: seed)
    #expect(first.traceHash == second.traceHash)
    #expect(first.events == second.events)
    #expect(first.requestsAccepted == second.requestsAccepted)
    #expect(first.parameters.description == second.parameters.description)
    #expect(await SimulationSweep.run(seed: seed + 1).traceHash != first.traceHash)
  }

  @Test("A Byzantine leader is replaced by the view change and liveness is demanded")
  func byzantineLeaderIsReplaced() async {
    let leader = await SimulationSweep.run(
      seed: 5, options: SimulationOptions(forcedStrategy: .skipOrders))
    #expect(leader.parameters.strategy(of: 0) == .skipOrders)
    #expect(leader.violation == nil)
    #expect(leader.livenessChecked)
    for strategy in [ByzantineStrategy.silent, .delayProposals, .equivocate] {
      let run = await SimulationSweep.run(
        seed: 5, options: SimulationOptions(forcedStrategy: strategy))
      #expect(run.violation == nil, "\(strategy)")
      #expect(run.livenessChecked, "\(strategy): \(run.livenessNote ?? "")")
    }
  }
}

@Suite("Simulator self-test: injected bugs are found (issue #5)")
struct BugInjectionTests {
  /// Sweeps at most `limit` seeds and returns the first violation.
  func firstViolation(_ options: SimulationOptions, limit: Int = 200) async -> SimulationResult? {
    let summary = await SimulationSweep.run(
      from: 1, count: limit, options: options, stopAtFirstViolation: true)
    return summary.violations.first
  }

  @Test("skipPrepareCertificateCheck: an equivocating leader splits correct followers")
  func skipPrepareCertificateCheck() async throws {
    let found = await firstViolation(
      SimulationOptions(forcedStrategy: .equivocate, injectedFaults: .skipPrepareCertificateCheck))
    let result = try #require(found)
    #expect(
      [.agreement, .linearizability, .checkpointDigest].contains(result.violation!.invariant))
    #expect(!result.violation!.trace.isEmpty)
    #expect(result.reproduceCommand.contains("--inject skipPrepareCertificateCheck"))
    // The same seed without the bug is clean: the checker found the bug, not noise.
    let clean = await SimulationSweep.run(
      seed: result.seed, options: SimulationOptions(forcedStrategy: .equivocate))
    #expect(clean.violation == nil)
  }

  @Test("commitQuorumOfF: f colluding replicas make a wrong checkpoint stable")
  func commitQuorumOfF() async throws {
    let found = await firstViolation(
      SimulationOptions(
        forcedStrategy: .wrongCheckpoint, byzantineAtMaximum: true,
        injectedFaults: .commitQuorumOfF))
    let result = try #require(found)
    #expect(result.violation!.invariant == .checkpointDigest)
    let clean = await SimulationSweep.run(
      seed: result.seed,
      options: SimulationOptions(forcedStrategy: .wrongCheckpoint, byzantineAtMaximum: true))
    #expect(clean.violation == nil)
  }
}
