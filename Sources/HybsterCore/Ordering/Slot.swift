/// What a replica knows about one consensus instance of its window (§5.2.1).
struct Slot: Sendable {
  /// The leader's PREPARE (the leader's vote).
  var prepare: Prepare?
  /// The batch digest of `prepare`.
  var batchDigest: Digest?
  /// The bytes of `prepare`'s batch (``Batch/byteCount``), for the window byte
  /// budget.
  var batchBytes = 0
  /// The request digests of the batch, in order.
  var requestDigests: [Digest] = []
  /// COMMIT votes by follower, with the digest each acknowledged.
  var commits: [ReplicaID: Commit] = [:]
  /// Whether this replica refuses to COMMIT (a request of the batch is not
  /// authentic).
  var abstain = false
  /// Whether every request of `prepare` was found authentic when it arrived (or,
  /// at the leader, when it was proposed): its delivery needs no second check.
  var authenticated = false
  /// Whether the batch was handed to execution.
  var delivered = false

  /// Valid PREPAREs of views later than the replica's own (ones it missed or left),
  /// with their batch digests: kept for delivery only. They are never COMMITted and
  /// never put in a VIEW-CHANGE: such a view may never have been established, and a
  /// faulty leader of it could certify anything (§5.2.3 only propagates PREPAREs of
  /// accepted views and of view-change certificates). At most
  /// ``laterPrepareLimit``; see ``keepLater(_:digest:)``.
  var laterPrepares: [(prepare: Prepare, batchDigest: Digest)] = []

  /// For an instance this replica delivered in an earlier view and a later NEW-VIEW
  /// re-proposed: the PREPARE and COMMITs that committed it then. Resent only, never
  /// voted on: a replica that left that view before the instance completed there
  /// cannot COMMIT in the later view and may need exactly these votes to deliver.
  var earlierCommit: (prepare: Prepare, commits: [Commit])?

  /// A slot holding `prepare` of the current view.
  init(
    prepare: Prepare, batchDigest: Digest, requestDigests: [Digest], delivered: Bool = false
  ) {
    self.prepare = prepare
    self.batchDigest = batchDigest
    self.batchBytes = prepare.batch.byteCount
    self.requestDigests = requestDigests
    self.delivered = delivered
  }

  /// A slot that holds votes or later views' PREPAREs only.
  init() {}

  /// How many later views' PREPAREs a slot keeps.
  static let laterPrepareLimit = 3

  /// Keeps a later view's PREPARE. When full, the one with the fewest matching votes
  /// goes, on a tie the one of the highest view: a faulty replica can certify
  /// PREPAREs only for views above its counter, which gather no votes, so it cannot
  /// push out the PREPARE that is committing.
  mutating func keepLater(_ prepare: Prepare, digest: Digest) {
    laterPrepares.append((prepare, digest))
    guard laterPrepares.count > Self.laterPrepareLimit else { return }
    let weakest = laterPrepares.indices.min { a, b in
      let (va, vb) = (
        votes(for: laterPrepares[a].prepare, digest: laterPrepares[a].batchDigest),
        votes(for: laterPrepares[b].prepare, digest: laterPrepares[b].batchDigest)
      )
      return va != vb ? va < vb : laterPrepares[a].prepare.view > laterPrepares[b].prepare.view
    }!
    laterPrepares.remove(at: weakest)
  }

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

  /// The PREPARE that committed this instance and its COMMITs, as a later view's
  /// slot keeps them (``earlierCommit``).
  func commitProof(quorum: Int) -> (prepare: Prepare, commits: [Commit])? {
    var candidates = laterPrepares
    if let prepare, let batchDigest { candidates.insert((prepare, batchDigest), at: 0) }
    guard let (prepare, digest) = candidates.first(where: { votes(for: $0, digest: $1) >= quorum })
    else { return earlierCommit }
    return (prepare, commits.values.filter { $0.view == prepare.view && $0.batchDigest == digest })
  }

  /// The PREPARE that gathered `quorum` matching votes, if one did.
  func committed(quorum: Int) -> Prepare? {
    if let prepare, let batchDigest, votes(for: prepare, digest: batchDigest) >= quorum {
      return prepare
    }
    return laterPrepares.first { votes(for: $0.prepare, digest: $0.batchDigest) >= quorum }?
      .prepare
  }
}
