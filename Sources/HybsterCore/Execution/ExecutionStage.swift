/// The execution stage (§5.3: delivers committed batches in global order; §5.2.2:
/// checkpoints). Independent of the ordering protocol: it sees only
/// (order number, view, batch) in increasing order.
///
/// It executes each request at most once per lane (a request whose sequence number
/// is not above the lane's last is skipped), authenticates replies for the client,
/// and every K order numbers snapshots the service and reply vector and reports the
/// checkpoint digest.
public struct ExecutionStage<Service: ReplicatedService>: Sendable {
  /// The replicated service.
  public private(set) var service: Service
  /// This replica.
  public let replica: ReplicaID
  /// The checkpoint interval K.
  public let checkpointInterval: UInt64
  /// The last order number executed.
  public private(set) var lastExecuted: OrderNumber = 0
  /// The reply vector.
  public private(set) var replies = ReplyCache()
  private var keyring: ClientKeyring
  /// Checkpoints taken but not yet known stable, by order number.
  public private(set) var snapshots: [OrderNumber: CheckpointSnapshot] = [:]

  /// Creates an execution stage around `service`.
  public init(
    service: Service, replica: ReplicaID, checkpointInterval: UInt64, keyring: ClientKeyring
  ) {
    self.service = service
    self.replica = replica
    self.checkpointInterval = checkpointInterval
    self.keyring = keyring
  }

  /// Executes the batch committed at `order` (which must be `lastExecuted + 1`).
  /// Returns the replies to send and, at checkpoint order numbers, the checkpoint.
  public mutating func execute(
    order: OrderNumber, view: View, batch: Batch, replies output: inout [Reply]
  ) -> CheckpointSnapshot? {
    precondition(order == lastExecuted + 1, "execution must be gap-free")
    for request in batch.requests {
      let lane = request.key
      if let last = replies[lane], last.sequence >= request.sequence { continue }
      let result = service.execute(request.operation)
      replies.record(lane, sequence: request.sequence, result: result)
      output.append(reply(to: request, result: result, view: view))
    }
    lastExecuted = order
    guard order % checkpointInterval == 0 else { return nil }
    let snapshot = CheckpointSnapshot(
      order: order, serviceState: service.snapshot(), replies: replies)
    snapshots[order] = snapshot
    return snapshot
  }

  /// The cached reply for a retransmitted request whose lane already executed it,
  /// or `nil` if the request is new. `stale` is true for requests older than the
  /// lane's last (never answered again, never executed).
  public mutating func cachedReply(for request: Request, view: View) -> (reply: Reply?, stale: Bool)
  {
    guard let last = replies[request.key], last.sequence >= request.sequence else {
      return (nil, false)
    }
    guard last.sequence == request.sequence else { return (nil, true) }
    return (reply(to: request, result: last.result, view: view), true)
  }

  /// The checkpoint at `order` is stable: discard older snapshots (§5.2.2), except
  /// the last few stable ones: a replica that asked for one of those by state
  /// transfer while the group moved on can still be served.
  public mutating func checkpointStable(at order: OrderNumber) {
    let keep = Self.stableSnapshotsKept * checkpointInterval
    let oldest = order > keep ? order - keep : 0
    snapshots = snapshots.filter { $0.key >= oldest }
  }

  /// How many stable snapshots before the newest one stay available.
  public static var stableSnapshotsKept: UInt64 { 2 }

  /// Makes `snapshot`, one this replica took before and kept on disk, available to
  /// state transfer again after a restart (issue 12): the group's stable checkpoint
  /// may be older than the snapshot execution resumed from, and a replica behind
  /// can only fetch that one.
  public mutating func keep(_ snapshot: CheckpointSnapshot) {
    guard snapshot.order < lastExecuted else { return }
    snapshots[snapshot.order] = snapshot
  }

  /// Installs a checkpoint fetched by state transfer (§5.2.2).
  public mutating func install(_ snapshot: CheckpointSnapshot) throws {
    try service.restore(from: snapshot.serviceState)
    replies = snapshot.replies
    lastExecuted = snapshot.order
    snapshots = [snapshot.order: snapshot]
  }

  private mutating func reply(to request: Request, result: [UInt8], view: View) -> Reply {
    let digest = Reply.digest(
      client: request.client, lane: request.lane, sequence: request.sequence, replica: replica,
      view: view, result: result)
    return Reply(
      client: request.client, lane: request.lane, sequence: request.sequence, replica: replica,
      view: view, result: result, tag: keyring.key(for: request.client)?.tag(digest) ?? Self.noTag)
  }

  /// The tag of a reply to a client this replica shares no key with (one the group
  /// does not admit, whose request only a `macs` group can have executed): no
  /// connection of that client exists to send it on.
  static var noTag: AuthenticationTag {
    AuthenticationTag(bytes: [UInt8](repeating: 0, count: 32))!
  }
}

/// The state after executing `order`: service snapshot and reply vector (§5.2.2).
public struct CheckpointSnapshot: Sendable, Hashable {
  /// The order number executed last.
  public var order: OrderNumber
  /// The service's canonical snapshot.
  public var serviceState: [UInt8]
  /// The reply vector.
  public var replies: ReplyCache

  /// Creates a snapshot.
  public init(order: OrderNumber, serviceState: [UInt8], replies: ReplyCache) {
    self.order = order
    self.serviceState = serviceState
    self.replies = replies
  }

  /// The digest CHECKPOINT messages carry: service state and reply vector.
  public var digest: Digest {
    var builder = DigestBuilder(tag: DigestTag.checkpointState.rawValue)
    builder.append(order)
    builder.append(Digest.of(serviceState))
    builder.append(replies.digest)
    return builder.finalize()
  }
}
