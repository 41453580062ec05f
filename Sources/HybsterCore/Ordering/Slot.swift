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

  /// A valid PREPARE of a view later than the replica's own (one it missed or left),
  /// with its batch digest: kept for delivery only. It is never COMMITted and never
  /// put in a VIEW-CHANGE: such a view may never have been established, and a
  /// faulty leader of it could certify anything (§5.2.3 only propagates PREPAREs of
  /// accepted views and of view-change certificates).
  var laterPrepare: (prepare: Prepare, batchDigest: Digest)?

  /// The number of matching votes for `prepare` (with digest `digest`): the PREPARE
  /// plus COMMITs of its view for its digest (a committed certificate never mixes
  /// views).
  func votes(for prepare: Prepare, digest: Digest) -> Int {
    var votes = 1
    for commit in commits.values where commit.view == prepare.view && commit.batchDigest == digest {
      votes += 1
    }
    return votes
  }

  /// The PREPARE that gathered `quorum` matching votes, if one did.
  func committed(quorum: Int) -> Prepare? {
    if let prepare, let batchDigest, votes(for: prepare, digest: batchDigest) >= quorum {
      return prepare
    }
    if let later = laterPrepare, votes(for: later.prepare, digest: later.batchDigest) >= quorum {
      return later.prepare
    }
    return nil
  }
}
