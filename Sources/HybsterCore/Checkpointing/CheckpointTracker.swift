/// Collects CHECKPOINT votes until f+1 match (§5.2.2). Holds votes only for
/// checkpoint order numbers inside the window, at most
/// ``digestsPerReplica`` per replica and order number.
///
/// Trusted MACs do not make CHECKPOINTs unique: a faulty replica can vote for
/// different digests towards different replicas. Keeping only its first vote would
/// let a wrong one hide the right one that a peer relays in its stable proof; f+1
/// matching votes still include a correct replica, so counting every digest a
/// replica voted for is safe.
struct CheckpointTracker: Sendable {
  /// Votes per checkpoint order number, by replica (a few digests each).
  private(set) var votes: [OrderNumber: [ReplicaID: [CheckpointMessage]]] = [:]
  /// The last stable checkpoint and its quorum certificate.
  private(set) var stable: StableCheckpoint?

  /// How many different digests one replica may vote for at one order number.
  static let digestsPerReplica = 3

  /// `replica`'s vote at `order`, the first one it sent.
  func vote(of replica: ReplicaID, at order: OrderNumber) -> CheckpointMessage? {
    votes[order]?[replica]?.first
  }

  /// Records `message` (already verified) and returns the checkpoint it makes
  /// stable, if any.
  mutating func record(_ message: CheckpointMessage, quorum: Int) -> StableCheckpoint? {
    let cast = votes[message.order]?[message.replica] ?? []
    guard cast.count < Self.digestsPerReplica,
      !cast.contains(where: { $0.stateDigest == message.stateDigest })
    else { return nil }
    votes[message.order, default: [:]][message.replica, default: []].append(message)
    let matching = votes[message.order]!.values.compactMap { cast in
      cast.first { $0.stateDigest == message.stateDigest }
    }
    guard matching.count >= quorum else { return nil }
    return StableCheckpoint(
      order: message.order, stateDigest: message.stateDigest,
      proof: matching.sorted { $0.replica < $1.replica })
  }

  /// Each replica's highest votes beyond the window (at most
  /// ``beyondWindowVotesPerReplica`` per replica).
  private(set) var beyondWindow: [ReplicaID: [CheckpointMessage]] = [:]

  /// How many votes beyond the window are kept per replica: more than one, so that a
  /// faulty replica's vote for a later checkpoint does not hide its (relayed) vote
  /// for the one the correct replicas agree on.
  static let beyondWindowVotesPerReplica = 4

  /// Records a verified vote for a checkpoint beyond the window, keeping only each
  /// replica's highest few, and returns the checkpoint f+1 of them agree on, if any.
  mutating func recordBeyondWindow(_ message: CheckpointMessage, quorum: Int)
    -> StableCheckpoint?
  {
    var kept = beyondWindow[message.replica] ?? []
    if kept.contains(where: { $0.order == message.order }) { return nil }
    kept.append(message)
    kept.sort { $0.order > $1.order }
    if kept.count > Self.beyondWindowVotesPerReplica { kept.removeLast() }
    beyondWindow[message.replica] = kept
    let matching = beyondWindow.values.compactMap { votes in
      votes.first { $0.order == message.order && $0.stateDigest == message.stateDigest }
    }
    guard matching.count >= quorum else { return nil }
    return StableCheckpoint(
      order: message.order, stateDigest: message.stateDigest,
      proof: matching.sorted { $0.replica < $1.replica })
  }

  /// Makes `checkpoint` the stable one and discards every vote at or below it.
  mutating func stabilize(_ checkpoint: StableCheckpoint) {
    stable = checkpoint
    votes = votes.filter { $0.key > checkpoint.order }
    beyondWindow = beyondWindow.mapValues { $0.filter { $0.order > checkpoint.order } }
  }

  /// The number of checkpoint order numbers with votes (bounded by W/K).
  var trackedCount: Int { votes.count }
}

/// A checkpoint proven by f+1 matching CHECKPOINTs (§5.2.2): the quorum
/// certificate a VIEW-CHANGE or a state transfer presents.
public struct StableCheckpoint: Hashable, Sendable {
  /// The order number the checkpoint was taken after.
  public var order: OrderNumber
  /// The agreed digest of service state and reply vector.
  public var stateDigest: Digest
  /// f+1 matching CHECKPOINT messages.
  public var proof: [CheckpointMessage]

  /// Creates a stable checkpoint from its quorum certificate (unverified: the
  /// receiver of a VIEW-CHANGE checks the proof itself).
  public init(order: OrderNumber, stateDigest: Digest, proof: [CheckpointMessage]) {
    self.order = order
    self.stateDigest = stateDigest
    self.proof = proof
  }
}
