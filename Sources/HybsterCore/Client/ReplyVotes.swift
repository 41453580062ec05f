/// The verified replies a client collected for one request (§4, §5.2: a client
/// accepts a result once f+1 replicas sent it, since at least one of them is
/// correct). Pure, so that the client library and the simulator count alike.
///
/// It also yields the client's view hint: the (f+1)-th highest view among the
/// replies. At least one correct replica is in that view or a later one, so f
/// faulty replicas cannot push the hint — and the replica a client sends to
/// first — to a view of their choosing (issue 11, item 7).
public struct ReplyVotes: Sendable {
  /// f, the number of faulty replicas tolerated.
  public let faultsTolerated: Int
  private var votes: [(replica: ReplicaID, result: [UInt8], view: View)] = []

  /// An empty tally for a group tolerating `faultsTolerated` faults.
  public init(faultsTolerated: Int) {
    self.faultsTolerated = faultsTolerated
  }

  /// The number of replicas that replied.
  public var count: Int { votes.count }

  /// Whether `replica` replied already.
  public func hasVote(of replica: ReplicaID) -> Bool {
    votes.contains { $0.replica == replica }
  }

  /// Records a reply the caller verified; only a replica's first reply counts.
  /// Returns the result once f+1 replicas sent the same one.
  public mutating func record(_ reply: Reply) -> [UInt8]? {
    guard !hasVote(of: reply.replica) else { return nil }
    votes.append((reply.replica, reply.result, reply.view))
    let matching = votes.count { $0.result == reply.result }
    return matching > faultsTolerated ? reply.result : nil
  }

  /// The (f+1)-th highest view among the replies; `nil` with f or fewer replies.
  public var viewHint: View? {
    guard votes.count > faultsTolerated else { return nil }
    return votes.map(\.view).sorted(by: >)[faultsTolerated]
  }
}
