import HybsterCore
import Testing

/// The timeouts that follow measured delays (issue 12: failover in under a second,
/// a loaded leader not suspected).
@Suite("Adaptive timeouts (RFC 6298)")
struct AdaptiveTimeoutTests {
  @Test("initial until measured, then the smoothed delay plus four deviations, within bounds")
  func followsDelays() {
    var timeout = AdaptiveTimeout(minimum: 100, maximum: 1_000, initial: 250)
    #expect(timeout.current == 250)
    timeout.observe(10)  // first sample: 10 + 4 × 5
    #expect(timeout.current == 100)  // raised to the minimum
    for _ in 0..<50 { timeout.observe(200) }
    #expect((200...260).contains(timeout.current))
    for _ in 0..<50 { timeout.observe(5_000) }  // a loaded leader: capped samples
    #expect(timeout.current == 1_000)
  }

  @Test("a steady delay converges to it; jitter widens the timeout")
  func jitter() {
    var steady = AdaptiveTimeout(minimum: 1, maximum: 10_000, initial: 1)
    var jittery = steady
    for i in 0..<200 {
      steady.observe(100)
      jittery.observe(i % 2 == 0 ? 50 : 150)
    }
    #expect((100...110).contains(steady.current))
    #expect(jittery.current > steady.current + 100)
  }

  @Test(
    "a follower suspects its leader a few usual delays after a forwarded request, not after the full timeout"
  )
  func followerSuspicion() {
    let configuration = testConfiguration()
    let credentials = Keys.credentials(client: 4, replicas: 3)
    // A view settled for a timeout: a new leader gets the whole timeout.
    var follower = Self.settled(configuration, replica: 1)
    // A client sends to this follower; the leader never orders it.
    let request = credentials.request(lane: 0, sequence: 1, operation: [1])
    _ = follower.handle(.request(request))
    var ticks = 0
    while !follower.isChangingView, ticks < 100 {
      _ = follower.handle(.tick)
      ticks += 1
    }
    #expect(follower.isChangingView)
    #expect(
      ticks <= 5, "suspected after \(ticks) ticks, timeout \(configuration.viewChangeTimeoutTicks)")
  }

  /// Issue 12: with a few usual delays as a request's only allowance, followers
  /// suspected a correct leader whose queue held the request a little longer under
  /// load (found with 512 requests outstanding against real replica processes).
  @Test(
    "a leader that keeps delivering gets the whole timeout for a waiting request, and no more"
  )
  func loadedLeaderIsNotSuspected() {
    let configuration = testConfiguration(k: 16, w: 64)
    let credentials = Keys.credentials(client: 4, replicas: 3)
    var follower = Self.settled(configuration, replica: 1)
    let timeout = Int(configuration.viewChangeTimeoutTicks)
    _ = follower.handle(.request(credentials.request(lane: 0, sequence: 1, operation: [1])))
    // The leader orders other requests, one instance per tick, but not this one.
    for order in 1..<timeout {
      let other = credentials.request(lane: 1, sequence: UInt64(order), operation: [2])
      let prepare = Forge.prepare(order: OrderNumber(order), batch: Batch(requests: [other]))
      _ = follower.handle(.message(.prepare(prepare), from: 0))
      _ = follower.handle(.tick)
      #expect(!follower.isChangingView, "suspected after \(order) ticks of progress")
    }
    // Censorship is still caught: at the view-change timeout the leader is suspected.
    _ = follower.handle(.tick)
    #expect(follower.isChangingView)

    // A follower that lags (order 1 is missing, so it delivers nothing) while the
    // leader's PREPAREs keep coming does not suspect the leader early either.
    var lagging = Self.settled(configuration, replica: 2)
    _ = lagging.handle(.request(credentials.request(lane: 0, sequence: 1, operation: [1])))
    for order in 2...timeout {
      let other = credentials.request(lane: 1, sequence: UInt64(order), operation: [2])
      let prepare = Forge.prepare(order: OrderNumber(order), batch: Batch(requests: [other]))
      _ = lagging.handle(.message(.prepare(prepare), from: 0))
      _ = lagging.handle(.tick)
      #expect(!lagging.isChangingView, "suspected after \(order - 1) ticks")
    }
  }

  /// Issue 12: a follower that fell behind and caught up by state transfer kept
  /// awaiting requests the transferred state had executed, and suspected the correct
  /// leader that had outrun it (512 requests outstanding, real replica processes).
  @Test("requests the transferred state executed are no longer awaited; the others still are")
  func stateTransferEndsTheWait() {
    let configuration = testConfiguration()
    let credentials = Keys.credentials(client: 4, replicas: 3)
    var follower = Self.settled(configuration, replica: 1)
    let executed = credentials.request(lane: 0, sequence: 1, operation: [1])
    let pending = credentials.request(lane: 1, sequence: 1, operation: [2])
    _ = follower.handle(.request(executed))
    _ = follower.handle(.request(pending))
    #expect(follower.awaitedCount == 2)
    var replies = ReplyCache()
    replies.record(executed.key, sequence: 1, result: [])
    replies.record(pending.key, sequence: 0, result: [])
    _ = follower.handle(.stateTransferred(order: 0, executed: replies))
    #expect(follower.awaitedCount == 1)

    // Only the request the state did not execute is awaited: a leader that orders
    // nothing is suspected for it, and one that ordered it would not be.
    var alone = Self.settled(configuration, replica: 1)
    _ = alone.handle(.request(executed))
    _ = alone.handle(.stateTransferred(order: 0, executed: replies))
    #expect(alone.awaitedCount == 0)
    for _ in 0..<(2 * configuration.viewChangeTimeoutTicks) { _ = alone.handle(.tick) }
    #expect(!alone.isChangingView)
    for _ in 0..<(2 * configuration.viewChangeTimeoutTicks) { _ = follower.handle(.tick) }
    #expect(follower.isChangingView)
  }

  /// A follower in view 0 once the view is a timeout old (a new view's leader gets
  /// the whole timeout, whatever the measured delays).
  static func settled(_ configuration: ProtocolConfiguration, replica: ReplicaID)
    -> OrderingPillar
  {
    var pillar = Keys.pillar(configuration, replica: replica)
    for _ in 0..<configuration.viewChangeTimeoutTicks { _ = pillar.handle(.tick) }
    return pillar
  }
}
