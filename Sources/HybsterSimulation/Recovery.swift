import HybsterCore
import HybsterServices
import TrInX

/// What a simulated replica keeps across a crash (issue 12): each pillar's journal,
/// folded record by record as the runtime folds what its disk returns, and the
/// service snapshots of its checkpoints (each durable before its CHECKPOINT left)
/// that ``SnapshotRetention`` keeps, as the runtime's snapshot store does.
struct SimDisk {
  var journals: [PillarRecovery]
  var snapshots: [OrderNumber: CheckpointSnapshot] = [:]
  /// The last checkpoint this replica saw become stable.
  var stable: OrderNumber = 0
  /// Whether the drawn disk fault was applied already (once per run).
  var faulted = false
  /// Per pillar, a bound on every counter value certified: the runtime's
  /// reservation file, which reaches ahead of the counter.
  var reservations: [CounterValue]

  init(pillars: Int) {
    journals = Array(repeating: PillarRecovery(), count: pillars)
    reservations = Array(repeating: .zero, count: pillars)
  }

  /// The snapshot execution resumes from after a restart.
  var newest: CheckpointSnapshot? { snapshots.max { $0.key < $1.key }?.value }

  /// Stores a snapshot and removes those the runtime's store would.
  mutating func store(_ snapshot: CheckpointSnapshot) {
    snapshots[snapshot.order] = snapshot
    prune()
  }

  /// Notes a stable checkpoint and removes the snapshots it supersedes.
  mutating func stabilized(at order: OrderNumber) {
    stable = max(stable, order)
    prune()
  }

  private mutating func prune() {
    for order in SnapshotRetention.superseded(Array(snapshots.keys), stable: stable) {
      snapshots[order] = nil
    }
  }

  /// Keeps the reservation ahead of a journaled counter value.
  mutating func reserve(_ record: PillarRecord, pillar: Int) {
    guard case .counter(let value) = record, value > reservations[pillar] else { return }
    reservations[pillar] = CounterValue(high: value.high, low: value.low + Self.reservationStep)
  }

  /// How far a reservation reaches beyond the counter (small, so that a pillar
  /// restarted from it votes again within the run).
  static let reservationStep: UInt64 = 8
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
      checkpointInterval: configuration.checkpointInterval, keyring: keys.keyring(r))
    if let fault = p.diskFault, fault.replica == replica, !replicas[r].disk.faulted {
      // Found at startup: the damaged journal is discarded, the pillar restarts as a
      // new one above anything it may have certified; a lost snapshot means state
      // transfer.
      replicas[r].disk.faulted = true
      replicas[r].disk.journals[0] = PillarRecovery(
        counterOnly: replicas[r].disk.reservations[0])
      if fault.snapshotLost { replicas[r].disk.snapshots = [:] }
    }
    var executed: OrderNumber = 0
    if let snapshot = replicas[r].disk.newest {
      // Force-try: the snapshot was taken by this very service.
      try! execution.install(snapshot)
      executed = snapshot.order
      for older in replicas[r].disk.snapshots.values { execution.keep(older) }
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
        trinx: trinx, clients: keys.authenticator(r),
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
    if let snapshot = replicas[r].disk.newest, !replicas[r].crashed {
      input(r, .checkpointTaken(order: snapshot.order, stateDigest: snapshot.digest))
    }
  }
}
