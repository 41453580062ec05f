import HybsterCore
import Testing
import TrInX

/// Issue 11: numbers a faulty peer chooses never trap a replica. A fuzzer without a
/// key killed replicas with a STATUS whose `nextDelivery` was 2^64 − 1 (an overflow
/// in the retransmission range) and a CHECKPOINT with order 2^63 (an overflow in the
/// global checkpoint number with two pillars, reached before the MAC was checked).
/// The wire decoder refuses both; the core refuses them again before it computes.
@Suite("Hostile numbers (issue 11)")
struct HostileNumbersTests {
  static func rejections(_ actions: [ReplicaPillars.Action]) -> [Rejection] {
    actions.compactMap { if case .rejected(let r, _) = $0 { r } else { nil } }
  }

  @Test("a STATUS or CHECKPOINT with a number above 2^56 is rejected, with 1 and 2 pillars")
  func outOfRangeNumbersAreRejected() {
    for pillars in [1, 2] {
      let configuration = pillarConfiguration(
        pillars: pillars, k: 2 * UInt64(pillars), w: 4 * UInt64(pillars))
      var replica = Keys.replicaPillars(configuration, replica: 0)
      let status = ProtocolMessage.status(
        StatusMessage(replica: 1, view: 0, nextDelivery: .max))
      let checkpoint = ProtocolMessage.checkpoint(
        Forge.checkpoint(
          order: 1 << 63, stateDigest: Digest(bytes: [UInt8](repeating: 7, count: 32))!, replica: 1)
      )
      let prepare = ProtocolMessage.prepare(
        Forge.prepare(view: ProtocolNumbers.limit + 1, order: 1, batch: Batch(requests: [])))
      for message in [status, checkpoint, prepare] {
        for pillar in 0..<pillars {
          let actions = replica.handle(.message(message, from: 1, pillar: pillar))
          #expect(Self.rejections(actions) == [.numberOutOfRange(message: message.name)])
        }
      }
      // A STATUS at the limit is answered as usual.
      let atLimit = ProtocolMessage.status(
        StatusMessage(replica: 1, view: 0, nextDelivery: ProtocolNumbers.limit))
      #expect(Self.rejections(replica.handle(.message(atLimit, from: 1, pillar: 0))).isEmpty)
    }
  }

  @Test("a client request with a sequence number above 2^56 is rejected")
  func outOfRangeSequence() {
    var pillar = Keys.pillar(ViewChangeRuleTests.configuration(), replica: 0)
    let client = Keys.credentials(client: 3, replicas: 3)
    let request = client.request(lane: 0, sequence: ProtocolNumbers.limit + 1, operation: [1])
    #expect(pillar.handle(.request(request)).rejections == [.numberOutOfRange(message: "REQUEST")])
  }

  /// Issue 11, item 8: every lane keeps a cached reply for good, and clients chose
  /// lanes freely.
  @Test("a lane beyond maxLanesPerClient is refused, alone or in a PREPARE")
  func laneOutOfRange() {
    var configuration = testConfiguration(batch: 4)
    configuration.maxLanesPerClient = 8
    try! configuration.validate()
    let client = Keys.credentials(client: 3, replicas: 3)
    let request = client.request(lane: 8, sequence: 1, operation: [1])
    var leader = Keys.pillar(configuration, replica: 0)
    #expect(leader.handle(.request(request)).rejections == [.laneOutOfRange(lane: 8)])
    var follower = Keys.pillar(configuration, replica: 1)
    let prepare = Forge.prepare(order: 1, batch: Batch(requests: [request]))
    #expect(
      follower.handle(.message(.prepare(prepare), from: 0)).rejections == [.laneOutOfRange(lane: 8)]
    )
    #expect(
      leader.handle(.request(client.request(lane: 7, sequence: 1, operation: [1]))).rejections
        .isEmpty)
  }
}
