import HybsterCore
import HybsterServices
import Testing

/// The whole pure core under a seeded, reordering and duplicating network: every
/// replica must execute the same sequence and reach the same state (§5.2).
@Suite("End to end in the harness")
struct EndToEndTests {
  @Test(
    "same execution sequence and snapshot digest under reordering and duplication",
    arguments: [(3, 0xA11CE), (3, 0xB0B), (5, 0xC0FFEE), (5, 0xD00D)])
  func endToEnd(n: Int, seed: UInt64) throws {
    let requests = 300
    let configuration = testConfiguration(n: n, k: 8, w: 16, batch: 4, inFlight: 2)
    let cluster = Cluster(configuration) { KeyValueStore() }
    var rng = SplitMix64(seed: seed)
    cluster.reorder = SplitMix64(seed: seed ^ 0x5EED)
    var duplicationRNG = SplitMix64(seed: seed ^ 0xD0B1E)
    cluster.intercept = { envelope in
      duplicationRNG.next() % 20 == 0 ? [envelope, envelope] : [envelope]
    }

    struct Lane {
      var credentials: ClientCredentials
      var lane: UInt32
      var next: UInt64 = 1
      var outstanding: Request?
    }
    var lanes: [Lane] = []
    for client in 0..<4 {
      for lane in 0..<2 {
        lanes.append(
          Lane(credentials: cluster.credentials(client: client), lane: UInt32(lane)))
      }
    }
    var submitted = 0
    var completed = 0
    // Replies seen per request: result -> replicas.
    var votes: [RequestKey: [[UInt8]: Set<ReplicaID>]] = [:]
    var seen = Array(repeating: 0, count: n)
    var idleRounds = 0

    while completed < requests {
      // Maybe submit a new request on an idle lane: to the leader, or multicast.
      if submitted < requests, rng.next() % 3 == 0 {
        let idle = lanes.indices.filter { lanes[$0].outstanding == nil }
        if !idle.isEmpty {
          let i = idle[Int(rng.next() % UInt64(idle.count))]
          let key = [UInt8(rng.next() % 8)]
          let operation: KeyValueOperation =
            switch rng.next() % 4 {
            case 0: .get(key: key)
            case 1: .put(key: key, value: [UInt8(truncatingIfNeeded: rng.next())])
            case 2: .delete(key: key)
            default:
              .compareAndSwap(
                key: key, expected: [UInt8(rng.next() % 4)], new: [UInt8(submitted % 256)])
            }
          let request = lanes[i].credentials.request(
            lane: lanes[i].lane, sequence: lanes[i].next, operation: operation.encode())
          lanes[i].outstanding = request
          lanes[i].next += 1
          submitted += 1
          if rng.next() % 2 == 0 {
            cluster.input(.request(request), at: cluster.pillars[0].leader)
          } else {
            for r in configuration.replicas { cluster.input(.request(request), at: r) }
          }
        }
      }
      let progressed = cluster.step()
      // Collect replies; a lane is idle again once f+1 replicas agree.
      for r in 0..<n {
        for reply in cluster.replies[r][seen[r]...] {
          #expect(lanes[0].credentials.replicaCount == n)
          votes[RequestKey(reply), default: [:]][reply.result, default: []].insert(reply.replica)
        }
        seen[r] = cluster.replies[r].count
      }
      for i in lanes.indices {
        guard let request = lanes[i].outstanding else { continue }
        let key = RequestKey(client: request.client, lane: request.lane, sequence: request.sequence)
        if let results = votes[key],
          results.values.contains(where: { $0.count >= configuration.quorum })
        {
          lanes[i].outstanding = nil
          completed += 1
        }
      }
      if !progressed {
        cluster.fireTimers()
        cluster.tickAll()
        idleRounds += 1
        try #require(idleRounds < 10_000, "no progress; seed \(seed)")
      }
    }
    // Liveness phase: keep ticking until every replica has caught up.
    cluster.run()
    for _ in 0..<50 where Set(cluster.executions.map(\.lastExecuted)).count > 1 {
      cluster.fireTimers()
      cluster.tickAll()
      cluster.run()
    }
    let summary = (0..<n).map { r in
      "r\(r): exec \(cluster.executions[r].lastExecuted) next \(cluster.pillars[r].nextDelivery) "
        + "low \(cluster.pillars[r].lowWaterMark) transfers \(cluster.stateTransfers[r].map(\.order)) "
        + "rejections \(cluster.rejections[r].count)"
    }
    #expect(
      Set(cluster.executions.map(\.lastExecuted)).count == 1,
      "seed \(seed): \(summary.joined(separator: "; "))")

    // Safety: every replica that delivered order o delivered the same batch, and
    // together they delivered every order number without a gap.
    var agreed: [OrderNumber: Digest] = [:]
    for r in 0..<n {
      #expect(
        cluster.delivered[r].map(\.order) == cluster.delivered[r].map(\.order).sorted(),
        "seed \(seed) r\(r): delivery out of order")
      for (order, _, digest) in cluster.delivered[r] {
        if let other = agreed[order] {
          #expect(other == digest, "seed \(seed) r\(r): divergent batch at \(order)")
        } else {
          agreed[order] = digest
        }
      }
    }
    let last = cluster.executions[0].lastExecuted
    #expect(Set(agreed.keys) == Set(1...last), "seed \(seed)")
    // Same final state everywhere.
    for r in 0..<n {
      #expect(cluster.executions[r].lastExecuted == last, "seed \(seed) r\(r)")
      #expect(cluster.stateDigest(r) == cluster.stateDigest(0), "seed \(seed) r\(r)")
      #expect(cluster.executions[r].service.entries == cluster.executions[0].service.entries)
      // Exactly once: no replica executed a request twice.
      #expect(Set(cluster.executed[r]).count == cluster.executed[r].count, "seed \(seed) r\(r)")
    }
    #expect(Set(cluster.executed.joined()).count == requests, "seed \(seed)")
    let transfers = (0..<n).map { cluster.stateTransfers[$0].count }
    print("end-to-end n=\(n) seed \(seed): state transfers per replica \(transfers)")
    // No two replicas ever answered one request differently.
    for (key, results) in votes {
      #expect(results.count == 1, "seed \(seed): divergent results for \(key)")
    }
    // Checkpoints happened and agree.
    #expect(cluster.pillars.allSatisfy { $0.lowWaterMark >= 8 }, "seed \(seed)")
    let stable = Set(cluster.pillars.compactMap { $0.stableCheckpoint.map { [$0.order] } })
    #expect(!stable.isEmpty)
    for r in 0..<n {
      for rejection in cluster.rejections[r] {
        switch rejection {
        case .outsideWindow, .wrongView: break
        default: Issue.record("replica \(r) rejected \(rejection); seed \(seed)")
        }
      }
    }
  }
}
