/// What a replica knows about one consensus instance of its window (§5.2.1).
struct Slot: Sendable {
  /// The leader's PREPARE (the leader's vote).
  var prepare: Prepare?
  /// The batch digest of `prepare`.
  var batchDigest: Digest?
  /// The request digests of the batch, in order.
  var requestDigests: [Digest] = []
  /// COMMIT votes by follower, with the digest each acknowledged.
  var commits: [ReplicaID: Commit] = [:]
  /// Whether this replica refuses to COMMIT (its own client tag failed in the batch).
  var abstain = false
  /// Whether the batch was handed to execution.
  var delivered = false

  /// The number of matching votes: the PREPARE plus COMMITs of its view for its
  /// digest (a committed certificate never mixes views).
  var matchingVotes: Int {
    guard let batchDigest, let view = prepare?.view else { return 0 }
    var votes = 1
    for commit in commits.values where commit.view == view && commit.batchDigest == batchDigest {
      votes += 1
    }
    return votes
  }
}
