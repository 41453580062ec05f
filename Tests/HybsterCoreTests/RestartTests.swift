import HybsterCore
import Testing
import TrInX

/// Restarts from the journal (issue 12): a replica that crashed resumes from what
/// it persisted before its messages left, with its TrInX counter at the last value
/// it released, whatever else crashed with it.
@Suite("Restart from the journal (issue 12)")
struct RestartTests {
  static let credentials = Keys.credentials(client: 4, replicas: 3)

  static func request(_ sequence: UInt64) -> Request {
    credentials.request(lane: 0, sequence: sequence, operation: [UInt8(sequence)])
  }

  /// A journaling cluster that ordered requests 1...`count` (checkpoint interval 4).
  static func cluster(ordered count: UInt64) -> Cluster<CountingService> {
    let cluster = Cluster(testConfiguration()) { CountingService() }
    cluster.journal()
    for sequence in 1...count {
      cluster.input(.request(Self.request(sequence)), at: 0)
      cluster.run()
    }
    return cluster
  }

  static func trinxRefusals(_ cluster: Cluster<CountingService>) -> [Rejection] {
    cluster.rejections.flatMap { $0 }.filter {
      if case .trinxRefused = $0 { true } else { false }
    }
  }

  @Test("a power cut: every replica restarts from its disk and the group serves at once")
  func powerCut() {
    let cluster = Self.cluster(ordered: 6)
    #expect(cluster.executions.map(\.lastExecuted) == [6, 6, 6])
    #expect(cluster.journals.allSatisfy { $0.counter.low >= 6 && $0.lowWaterMark == 4 })
    for r in cluster.configuration.replicas { cluster.crash(r) }
    for r in cluster.configuration.replicas { cluster.restart(r) }
    // The service state of the last checkpoint is back, in view 0 still, and 5 and
    // 6 are delivered again at once, without a view change: every replica journaled
    // the PREPAREs, its own COMMITs and the others' votes of what it delivered.
    #expect(cluster.executions.map(\.lastExecuted) == [6, 6, 6])
    #expect(cluster.pillars.map(\.view) == [0, 0, 0])
    cluster.tickAll()
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [6, 6, 6])
    cluster.input(.request(Self.request(7)), at: 0)
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [7, 7, 7])
    #expect(cluster.viewChangesStarted.allSatisfy { $0.isEmpty })
    #expect(Self.trinxRefusals(cluster).isEmpty)
    // Every replica executed the same sequence, before and after the restart.
    #expect(Set(cluster.executed.map { Array($0.suffix(3)) }).count == 1)
  }

  @Test("a restarted follower's VIEW-CHANGE is valid: the leader may fail right after")
  func restartedFollowerCanChangeViews() {
    let cluster = Self.cluster(ordered: 3)
    cluster.crash(1)
    cluster.restart(1)
    cluster.crash(0)  // the leader, for good
    // The client's request reaches both followers; nothing happens until they
    // suspect the leader.
    for r: ReplicaID in [1, 2] { cluster.input(.request(Self.request(4)), at: r) }
    cluster.run()
    var ticks = 0
    while cluster.executions[2].lastExecuted < 4, ticks < 200 {
      cluster.tickAll()
      cluster.run()
      ticks += 1
    }
    #expect(cluster.pillars[1].view == 1 && cluster.pillars[2].view == 1)
    #expect(cluster.executions[1].lastExecuted == 4 && cluster.executions[2].lastExecuted == 4)
    #expect(
      cluster.rejections[1].allSatisfy { if case .invalidCertificate = $0 { false } else { true } })
    #expect(
      cluster.rejections[2].allSatisfy { if case .invalidCertificate = $0 { false } else { true } })
    #expect(Self.trinxRefusals(cluster).isEmpty)
  }

  @Test(
    "a replica that crashed while changing views resends the VIEW-CHANGE it cannot certify again")
  func restartDuringViewChange() {
    let cluster = Self.cluster(ordered: 2)
    cluster.input(.leaveView(1, checkpoint: nil), at: 2)
    let sent = cluster.network.compactMap {
      if case .viewChange(let m) = $0.message, $0.from == 2 { m } else { nil }
    }
    #expect(sent.count == 2)  // one per peer
    cluster.network.removeAll()
    cluster.crash(2)
    cluster.restart(2)
    #expect(cluster.pillars[2].targetView == 1)
    let resent = cluster.network.compactMap {
      if case .viewChange(let m) = $0.message, $0.from == 2 { m } else { nil }
    }
    #expect(resent == sent)
  }

  @Test("a torn last turn: an own PREPARE journaled above the counter never left, and is dropped")
  func tornTurn() {
    let cluster = Self.cluster(ordered: 2)
    var journal = cluster.journals[0]
    #expect(journal.counter == CounterLayout.flattened(view: 0, order: 2))
    // The leader certified [0|3] for a batch and crashed while its turn was being
    // written: the PREPARE record is on disk, the counter record is not.
    let unreleased = Forge.prepare(
      order: 3, batch: Batch(requests: [Self.request(99)]), issuer: 0)
    journal.apply(.prepare(unreleased))
    cluster.journals[0] = journal
    cluster.crash(0)
    cluster.restart(0)
    cluster.input(.request(Self.request(3)), at: 0)
    let proposed = cluster.network.compactMap {
      if case .prepare(let p) = $0.message, $0.from == 0, p.order == 3 { p } else { nil }
    }
    #expect(!proposed.isEmpty && proposed.allSatisfy { $0 != unreleased })
    cluster.run()
    cluster.tickAll()  // the leader fetches the COMMITs of 1 and 2 it lost
    cluster.run()
    #expect(cluster.executions.map(\.lastExecuted) == [3, 3, 3])
    #expect(Self.trinxRefusals(cluster).isEmpty)
  }

  @Test("a replica journals the other replicas' votes for what it delivers, and restores them")
  func votesJournaled() {
    let cluster = Self.cluster(ordered: 3)
    let journal = cluster.journals[0]
    for order: OrderNumber in 1...3 {
      let voters = Set((journal.votes[order] ?? []).map(\.replica))
      #expect(!voters.isEmpty && !voters.contains(0))
    }
    cluster.crash(0)
    cluster.restart(0)
    // A restarted replica can hand a replica behind the votes it lost (seed 410001813).
    cluster.input(
      .message(.status(StatusMessage(replica: 2, view: 0, nextDelivery: 1)), from: 2), at: 0)
    let resent = cluster.network.compactMap {
      if case .commit(let c) = $0.message, $0.from == 0, c.replica != 0, $0.to == 2 {
        c
      } else {
        nil
      }
    }
    #expect(Set(resent.map(\.order)).isSuperset(of: [1, 2, 3]))
  }

  @Test("the journal's base records describe the same state")
  func baseRecords() {
    let cluster = Self.cluster(ordered: 6)
    let journal = cluster.journals[1]
    #expect(PillarRecovery(records: journal.baseRecords) == journal)
    #expect(!journal.isEmpty && PillarRecovery().isEmpty)
  }
}
