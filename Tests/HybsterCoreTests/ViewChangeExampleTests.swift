import HybsterCore
import Testing
import TrInX

/// The worked example of §5.2.3 (Figure 3, steps ① to ⑩) with a faulty R1, scripted
/// message by message on the pure core. R0 and R2 run the unmodified pillar; R1
/// runs the pillar too, and its faults are in what it withholds and in one forged,
/// "cleaned" VIEW-CHANGE made with its own TrInX instance.
@Suite("View change: the worked example of §5.2.3 (Figure 3)")
struct ViewChangeExampleTests {
  typealias Net = Cluster<CountingService>

  static func configuration() -> ProtocolConfiguration {
    let c = ProtocolConfiguration(
      replicaCount: 3, checkpointInterval: 50, windowSize: 100, maxBatchSize: 1, maxInFlight: 8,
      viewChangeTimeoutTicks: 2)
    try! c.validate()
    return c
  }

  /// Removes and returns the queued messages matching `filter`.
  static func take(_ net: Net, _ filter: (Envelope) -> Bool) -> [Envelope] {
    let taken = net.network.filter(filter)
    net.network.removeAll(where: filter)
    return taken
  }

  static func deliver(_ net: Net, _ envelopes: [Envelope]) {
    for e in envelopes { net.input(.message(e.message, from: e.from), at: e.to) }
  }

  static func viewChanges(_ envelopes: [Envelope]) -> [ViewChange] {
    envelopes.compactMap { if case .viewChange(let m) = $0.message { m } else { nil } }
  }

  static func isViewChange(_ e: Envelope, from: ReplicaID, to view: View) -> Bool {
    if case .viewChange(let m) = e.message { return e.from == from && m.toView == view }
    return false
  }

  static func isNewView(_ e: Envelope, view: View) -> Bool {
    if case .newView(let m) = e.message { return m.view == view }
    return false
  }

  /// Ticks replica `r` until it broadcasts a VIEW-CHANGE for `view`.
  static func tickUntilViewChange(_ net: Net, _ r: ReplicaID, to view: View) {
    for _ in 0..<64 where !net.network.contains(where: { isViewChange($0, from: r, to: view) }) {
      net.input(.tick, at: r)
    }
    #expect(net.network.contains { isViewChange($0, from: r, to: view) })
  }

  @Test("steps 1-10: request b at 51 survives a faulty R1 through views 1 and 2")
  func figure3() throws {
    let net = Net(Self.configuration()) { CountingService() }
    let client = net.credentials(client: 9)
    // ①② Requests up to a at order number 50; the checkpoint at 50 becomes stable.
    for s in 1...50 {
      net.input(.request(client.request(lane: 0, sequence: UInt64(s), operation: [1])), at: 0)
    }
    net.run()
    for r in 0..<3 {
      #expect(net.executions[r].lastExecuted == 50)
      #expect(net.pillars[r].lowWaterMark == 50)
    }
    // ③ R2 is disconnected; R0 proposes b in (0, 51) and commits it with R1.
    let b = client.request(lane: 1, sequence: 1, operation: [0xB])
    net.crashed = [2]
    net.input(.request(b), at: 0)
    net.run()
    #expect(net.executions[0].lastExecuted == 51)
    #expect(net.executions[1].lastExecuted == 51)
    #expect(net.executions[2].lastExecuted == 50)
    net.crashed = []
    net.network.removeAll()

    // ④ R2 receives the retransmitted b, gets no result, suspects R0 and sends a
    // VIEW-CHANGE for view 1 certified τ(R2, 𝔒, [1|0], [0|50]) without PREPAREs.
    net.input(.request(b), at: 2)
    _ = Self.take(net) { if case .forwardedRequest = $0.message { true } else { false } }
    Self.tickUntilViewChange(net, 2, to: 1)
    let fromR2 = Self.take(net) { Self.isViewChange($0, from: 2, to: 1) }
    let vc2 = try #require(Self.viewChanges(fromR2).first)
    #expect(vc2.certificate.previousValue == CounterValue(high: 0, low: 50))
    #expect(vc2.certificate.newValue == CounterValue(high: 1, low: 0))
    #expect(vc2.prepares.isEmpty)
    #expect(net.pillars[2].targetView == 1)
    net.network.removeAll()  // statuses

    // R1 (faulty) gets R2's VIEW-CHANGE and, with its own, forms NEW-VIEW 1 — but
    // sends its VIEW-CHANGE only to R0 and withholds the NEW-VIEW.
    Self.deliver(net, fromR2.filter { $0.to == 1 })
    let c = client.request(lane: 2, sequence: 1, operation: [0xC])
    net.input(.request(c), at: 1)  // gives R1 a reason to suspect R0
    _ = Self.take(net) { if case .forwardedRequest = $0.message { true } else { false } }
    Self.tickUntilViewChange(net, 1, to: 1)
    let fromR1 = Self.take(net) { $0.from == 1 }
    let vc1 = try #require(Self.viewChanges(fromR1).first)
    // Its counter was [0|51]: it cannot hide the PREPARE for (0, 51).
    #expect(vc1.certificate.previousValue == CounterValue(high: 0, low: 51))
    #expect(vc1.prepares.map(\.order) == [51])
    #expect(vc1.prepares.first?.batch == Batch(requests: [b]))
    let newView1 = try #require(
      fromR1.compactMap { if case .newView(let m) = $0.message { m } else { nil } }.first)
    #expect(newView1.view == 1)
    #expect(newView1.prepares.map(\.order) == [51])
    #expect(newView1.prepares.first?.batch == Batch(requests: [b]))
    #expect(newView1.prepares.first?.certificate.newValue == CounterValue(high: 1, low: 51))

    // ⑤ R1 "cleans" its counter: [2|0], then a valid VIEW-CHANGE for view 3 with
    // v_from = 0 and no PREPAREs. R2 does not act on it.
    var r1 = Forge.trinx(1)
    _ = try r1.certifyContinuing(
      counter: CounterLayout.ordering, newValue: CounterValue(high: 2, low: 0), message: [0])
    let cleanedDigest = ViewChange.certifiedDigest(
      replica: 1, fromView: 0, toView: 3, checkpoint: net.pillars[1].stableCheckpoint,
      prepares: [])
    let cleaned = ViewChange(
      replica: 1, fromView: 0, toView: 3, checkpoint: net.pillars[1].stableCheckpoint,
      prepares: [],
      certificate: try r1.certifyContinuing(
        counter: CounterLayout.ordering, newValue: CounterValue(high: 3, low: 0),
        message: cleanedDigest))
    let heldBefore = net.pillars[2].heldViewChanges
    net.input(.message(.viewChange(cleaned), from: 1), at: 2)
    #expect(net.pillars[2].heldViewChanges == heldBefore)
    #expect(net.pillars[2].targetView == 1)
    #expect(net.network.isEmpty)

    // ⑥ R0 has f+1 VIEW-CHANGEs for view 1 (R1's, R2's): it aborts view 0 with a
    // VIEW-CHANGE that must contain b's PREPARE; R2 learns it from R0's message.
    Self.deliver(net, fromR1.filter { $0.to == 0 && Self.isViewChange($0, from: 1, to: 1) })
    Self.deliver(net, fromR2.filter { $0.to == 0 })
    let fromR0 = Self.take(net) { Self.isViewChange($0, from: 0, to: 1) }
    let vc0 = try #require(Self.viewChanges(fromR0).first)
    #expect(vc0.prepares.map(\.order) == [51])
    #expect(net.pillars[0].targetView == 1)
    Self.deliver(net, fromR0.filter { $0.to == 2 })
    net.network.removeAll()

    // ⑦ No NEW-VIEW reaches R0: it supports view 2 (it holds a view-change
    // certificate for view 1). Its VIEW-CHANGE does not reach R2 in time. R1 sends
    // its NEW-VIEW for view 1 to R2, which installs it.
    for _ in 0..<64 where net.pillars[0].targetView != 2 { net.input(.tick, at: 0) }
    #expect(net.pillars[0].targetView == 2)
    let late = Self.take(net) { Self.isViewChange($0, from: 0, to: 2) }
    net.network.removeAll()
    net.crashed = [1]  // R1 takes no further part
    net.input(.message(.newView(newView1), from: 1), at: 2)
    #expect(net.pillars[2].view == 1)
    net.network.removeAll()

    // ⑧ R2 leaves view 1 for view 2. R0's and R2's VIEW-CHANGEs do not prove that
    // view 1 was properly established: R2 cannot form NEW-VIEW 2 yet.
    let d = client.request(lane: 3, sequence: 1, operation: [0xD])
    net.input(.request(d), at: 2)
    _ = Self.take(net) { if case .forwardedRequest = $0.message { true } else { false } }
    Self.tickUntilViewChange(net, 2, to: 2)
    let vc2to2 = try #require(
      Self.viewChanges(Self.take(net) { Self.isViewChange($0, from: 2, to: 2) }).first)
    #expect(vc2to2.fromView == 1)
    #expect(vc2to2.prepares.map(\.view) == [1])
    net.network.removeAll()
    Self.deliver(net, late.filter { $0.to == 2 })
    #expect(!net.network.contains { Self.isNewView($0, view: 2) })
    #expect(net.pillars[2].targetView == 2)

    // ⑨ R0 learns NEW-VIEW 1, a view it already left, and acknowledges it; with the
    // NEW-VIEW-ACK R2 forms NEW-VIEW 2, which re-proposes b at 51.
    net.input(.message(.newView(newView1), from: 2), at: 0)
    let acks = Self.take(net) { if case .newViewAck = $0.message { true } else { false } }
    #expect(acks.count == 2)
    Self.deliver(net, acks.filter { $0.to == 2 })
    let newView2 = try #require(
      net.network.compactMap { if case .newView(let m) = $0.message { m } else { nil } }.first)
    #expect(newView2.view == 2)
    #expect(newView2.prepares.map(\.order) == [51])
    #expect(newView2.prepares.first?.batch == Batch(requests: [b]))
    #expect(newView2.acknowledgments.map(\.replica) == [0])
    #expect(net.pillars[2].view == 2)

    // ⑩ R0 enters view 2 and acknowledges the assignment; b is at 51 everywhere.
    // R2 then proposes d, which a client had sent to it (handed over, not retried).
    net.run()
    #expect(net.pillars[0].view == 2)
    for r in [0, 2] {
      let at51 = net.delivered[r].first { $0.order == 51 }
      #expect(at51?.digest == Batch(requests: [b]).digest)
      #expect(net.delivered[r].first { $0.order == 52 }?.digest == Batch(requests: [d]).digest)
      #expect(net.executions[r].lastExecuted == 52)
    }
  }
}
