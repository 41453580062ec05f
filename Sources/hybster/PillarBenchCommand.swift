import ArgumentParser
import Dispatch
import HybsterCore
import Synchronization
import TrInX

/// `hybster pillar-bench`: how one replica's ordering throughput grows with its
/// pillars (§5.3, §6.2), without the network, the load generator or the other
/// replicas competing for the cores. One follower's P pillars each run on their
/// own thread and are fed pre-generated, validly certified PREPAREs, COMMITs and
/// CHECKPOINTs of the other two replicas; the follower verifies them, authenticates
/// every request, certifies its own COMMITs with its pillar's TrInX instance and
/// delivers. Each pillar count runs in turn, alternating, so the ratios come from
/// one session.
struct PillarBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pillar-bench",
    abstract: "Measure one replica's ordering throughput for 1..P pillars (no network).")

  @Option(help: "Pillar counts to compare, e.g. 1,2,4.") var pillars = "1,2"
  @Option(help: "Requests per batch (1 = batching off).") var batch = 64
  @Option(help: "Instances per run (all pillars together).") var instances = 20_000
  @Option(help: "Alternating rounds per pillar count.") var rounds = 3
  @Flag(help: "Print one JSON object per measurement.") var json = false

  func run() throws {
    let counts = pillars.split(separator: ",").compactMap { Int($0) }
    guard !counts.isEmpty, counts.allSatisfy({ (1...64).contains($0) }) else {
      throw ValidationError("--pillars takes a list of counts between 1 and 64, e.g. 1,2,4")
    }
    guard batch >= 1, instances >= 1, rounds >= 1 else {
      throw ValidationError("--batch, --instances and --rounds must be positive")
    }
    print(
      "pillar-bench: one follower of n=3, batch \(batch), \(instances) instances per run,"
        + " \(rounds) alternating round(s); pre-generating messages…")
    let workloads = try counts.map { try Workload(pillars: $0, batch: batch, instances: instances) }
    var best = Array(repeating: 0.0, count: counts.count)
    for round in 1...rounds {
      for (i, workload) in workloads.enumerated() {
        let seconds = try workload.run()
        let rate = Double(workload.requests) / seconds
        best[i] = max(best[i], rate)
        print(
          "  round \(round) P=\(workload.pillarCount): \(Int(rate)) requests/s"
            + " (\(Int(Double(workload.instanceCount) / seconds)) instances/s)")
        if json {
          print(
            #"{"pillars":\#(workload.pillarCount),"batch":\#(batch),"round":\#(round),"requests_per_s":\#(rate)}"#
          )
        }
      }
    }
    for (i, count) in counts.enumerated() {
      print(
        "P=\(count): best \(Int(best[i])) requests/s, "
          + String(format: "%.2fx", best[i] / best[0]) + " of P=\(counts[0])")
    }
  }
}

/// Pre-generated input for one follower (replica 1) with P pillars.
private struct Workload {
  let pillarCount: Int
  let configuration: ProtocolConfiguration
  /// Per pillar: the inputs in the order they are fed.
  let inputs: [[PillarInput]]
  let instanceCount: Int
  let requests: Int
  static let groupKey = [UInt8](repeating: 7, count: 32)
  static let keys = InProcessKeys(replicas: 3, clients: 1)

  init(pillars: Int, batch: Int, instances: Int) throws {
    pillarCount = pillars
    configuration = ProtocolConfiguration(
      replicaCount: 3, checkpointInterval: UInt64(64 * pillars),
      windowSize: UInt64(256 * pillars), maxBatchSize: batch, maxInFlight: 4,
      pillarCount: pillars)
    try configuration.validate()
    let perPillar = max(1, instances / pillars)
    instanceCount = perPillar * pillars
    requests = instanceCount * batch
    let credentials = Self.keys.credentials(0, mode: configuration.clientAuthentication)
    let localK = configuration.checkpointInterval / UInt64(pillars)
    var inputs: [[PillarInput]] = []
    var sequence: UInt64 = 0
    for u in 0..<pillars {
      var leader = try TrInXInstance(
        id: configuration.trinxInstance(of: 0, pillar: u), counterCount: CounterLayout.count,
        key: Self.groupKey)
      var other = try TrInXInstance(
        id: configuration.trinxInstance(of: 2, pillar: u), counterCount: CounterLayout.count,
        key: Self.groupKey)
      // Execution (and with it the coordinator's delivery limit) is not measured.
      var feed: [PillarInput] = [.deliverThrough(.max)]
      for l in 1...UInt64(perPillar) {
        let requests = (0..<batch).map { _ in
          sequence += 1
          return credentials.request(lane: 0, sequence: sequence, operation: [])
        }
        let batchDigest = Batch(requests: requests).digest
        let value = CounterLayout.flattened(view: 0, order: l)
        let prepare = Prepare(
          view: 0, order: l, batch: Batch(requests: requests),
          certificate: try leader.certifyIndependent(
            counter: CounterLayout.ordering, newValue: value,
            message: Prepare.certifiedDigest(view: 0, order: l, batchDigest: batchDigest)))
        let commit = Commit(
          view: 0, order: l, batchDigest: batchDigest, replica: 2,
          certificate: try other.certifyIndependent(
            counter: CounterLayout.ordering, newValue: value,
            message: Commit.certifiedDigest(view: 0, order: l, batchDigest: batchDigest)))
        feed.append(.message(.prepare(prepare), from: 0))
        feed.append(.message(.commit(commit), from: 2))
        if l % localK == 0 {
          // f+1 = 2 matching CHECKPOINTs of the other replicas, certified by the
          // instances of the pillar that runs this checkpoint, move the window.
          let owner = configuration.layout.checkpointPillar(
            ofLocal: l, interval: configuration.checkpointInterval)
          let digest = Digest.of(Array("state \(l)".utf8))
          for replica: ReplicaID in [0, 2] {
            var trinx = try TrInXInstance(
              id: configuration.trinxInstance(of: replica, pillar: owner),
              counterCount: CounterLayout.count, key: Self.groupKey)
            let certificate = try trinx.trustedMAC(
              counter: CounterLayout.checkpoint,
              message: CheckpointMessage.certifiedDigest(order: l, stateDigest: digest))
            feed.append(
              .message(
                .checkpoint(
                  CheckpointMessage(
                    order: l, stateDigest: digest, replica: replica, certificate: certificate)),
                from: replica))
          }
        }
      }
      inputs.append(feed)
    }
    self.inputs = inputs
  }

  /// Feeds every pillar on its own thread; returns the wall-clock seconds until all
  /// delivered every instance.
  func run() throws -> Double {
    let delivered = Mutex([Int](repeating: 0, count: pillarCount))
    let pillars = try (0..<pillarCount).map { u in
      OrderingPillar(
        configuration: configuration, replica: 1, pillar: u,
        trinx: try TrInXInstance(
          id: configuration.trinxInstance(of: 1, pillar: u), counterCount: CounterLayout.count,
          key: Self.groupKey),
        clients: Self.keys.authenticator(1, mode: configuration.clientAuthentication))
    }
    let inputs = self.inputs
    let start = DispatchTime.now().uptimeNanoseconds
    DispatchQueue.concurrentPerform(iterations: pillarCount) { u in
      var pillar = pillars[u]
      var actions: [PillarAction] = []
      var count = 0
      for input in inputs[u] {
        actions.removeAll(keepingCapacity: true)
        pillar.handle(input, into: &actions)
        for case .deliver in actions { count += 1 }
      }
      delivered.withLock { $0[u] = count }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let total = delivered.withLock { $0.reduce(0, +) }
    guard total == instanceCount else {
      throw CLIError("pillar-bench: delivered \(total) of \(instanceCount) instances")
    }
    return seconds
  }
}
