import HybsterCore
import Testing
import TrInX

/// A client accepts a result from f+1 matching replies (§4), and its view hint is
/// the (f+1)-th highest view they claim (issue 11, item 7).
@Suite("Client reply votes")
struct ReplyVotesTests {
  static func reply(from replica: ReplicaID, result: [UInt8], view: View) -> Reply {
    Reply(
      client: 1, lane: 0, sequence: 1, replica: replica, view: view, result: result,
      tag: TrInXMAC(bytes: [UInt8](repeating: 0, count: 32))!)
  }

  @Test("f+1 matching results are accepted; a replica's second reply does not count")
  func quorumOfMatchingResults() {
    var votes = ReplyVotes(faultsTolerated: 1)
    #expect(votes.record(Self.reply(from: 0, result: [1], view: 0)) == nil)
    #expect(votes.record(Self.reply(from: 0, result: [1], view: 0)) == nil)
    #expect(votes.record(Self.reply(from: 1, result: [2], view: 0)) == nil)
    #expect(votes.record(Self.reply(from: 2, result: [2], view: 0)) == [2])
    #expect(votes.count == 3)
  }

  @Test("one faulty replica claiming a high view does not steer the hint")
  func faultyReplicaCannotSteerViewHint() {
    // f = 2: replicas 3 and 4 are faulty and claim views 900 and 77.
    var votes = ReplyVotes(faultsTolerated: 2)
    #expect(votes.viewHint == nil)
    _ = votes.record(Self.reply(from: 3, result: [1], view: 900))
    _ = votes.record(Self.reply(from: 4, result: [1], view: 77))
    #expect(votes.viewHint == nil)
    #expect(votes.record(Self.reply(from: 0, result: [1], view: 5)) == [1])
    #expect(votes.viewHint == 5)
    _ = votes.record(Self.reply(from: 1, result: [1], view: 6))
    #expect(votes.viewHint == 6)
  }
}
