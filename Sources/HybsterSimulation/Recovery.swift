import HybsterCore
import HybsterServices
import TrInX

/// What a simulated replica keeps across a crash (issue 12): each pillar's journal,
/// folded record by record as the runtime folds what its disk returns, and the
/// service snapshot of its last checkpoint (made durable before its CHECKPOINT left).
struct SimDisk {
  var journals: [PillarRecovery]
  var snapshot: CheckpointSnapshot?

  init(pillars: Int) {
    journals = Array(repeating: PillarRecovery(), count: pillars)
  }
}

extension SimulationRun {
  /// Restarts crashed replica `r` from its disk alone, as `hybster replica` does:
  /// the service from its last snapshot, each pillar from its journal with its TrInX
  /// counter at the last released value. Everything else it held is gone.
  func recover(_ r: Int) {
    let replica = ReplicaID(r)
    let configuration = p.configuration
    var execution = ExecutionStage(
      service: KeyValueStore(), replica: replica,
      checkpointInterval: configuration.checkpointInterval,
      keyring: ClientKeyring(replicaSecret: secrets[r]))
    var executed: OrderNumber = 0
    if let snapshot = replicas[r].disk.snapshot {
      // Force-try: the snapshot was taken by this very service.
      try! execution.install(snapshot)
      executed = snapshot.order
    }
    let pillars = (0..<configuration.pillarCount).map { u in
      let journal = replicas[r].disk.journals[u]
      var counters = [CounterValue](repeating: .zero, count: CounterLayout.count)
      counters[Int(CounterLayout.ordering)] = journal.counter
      // Force-try: the key has 32 bytes by construction.
      let trinx = try! TrInXInstance(
        id: configuration.trinxInstance(of: replica, pillar: u),
        counterCount: CounterLayout.count, key: groupKey, restoredCounters: counters)
      var pillar = OrderingPillar(
        recovering: journal, configuration: configuration, replica: replica, pillar: u,
        trinx: trinx, keyring: ClientKeyring(replicaSecret: secrets[r]),
        executedThrough: configuration.layout.localCheckpoint(ofGlobal: executed))
      pillar.injectedFaults = p.options.injectedFaults
      return pillar
    }
    replicas[r].ordering = ReplicaPillars(restored: pillars, executedThrough: executed)
    replicas[r].execution = execution
    replicas[r].chainHash = checker.chainHash(after: executed) ?? .zero
    replicas[r].crashed = false
    carryOut(r, replicas[r].ordering.resume())
    // Its vote for the checkpoint it restored was lost with the others' memory of it
    // (a power cut): vote again, or the window may never move.
    if let snapshot = replicas[r].disk.snapshot, !replicas[r].crashed {
      input(r, .checkpointTaken(order: snapshot.order, stateDigest: snapshot.digest))
    }
  }
}
