/// What drives an ordering pillar. The shells (runtime, simulator) turn sockets,
/// timers and the execution stage into these inputs; the core never reads a clock.
public enum PillarInput: Sendable, Equatable {
  /// A client request received directly from a client.
  case request(Request)
  /// A message from another replica.
  case message(ProtocolMessage, from: ReplicaID)
  /// The batch flush delay armed by ``PillarAction/armBatchTimer`` has passed.
  case batchTimeout
  /// A periodic tick (the shell's retransmission period).
  case tick
  /// The execution stage took a checkpoint after executing `order` (§5.2.2).
  case checkpointTaken(order: OrderNumber, stateDigest: Digest)
  /// The execution stage installed the stable checkpoint at `order`, fetched after
  /// ``PillarAction/stateTransferNeeded(order:stateDigest:from:)`` (§5.2.2); delivery
  /// resumes at `order + 1`. `executed` is the execution stage's reply vector after
  /// the install: requests it shows executed are no longer awaited.
  case stateTransferred(order: OrderNumber, executed: ReplyCache)
  /// A sibling pillar made this checkpoint stable (§5.3.2: the pillar that runs a
  /// checkpoint informs the others). Verified like any quorum certificate.
  case checkpointLearned(StableCheckpoint)
  /// A sibling pillar left the view: the replica leaves it with all its pillars
  /// (§5.3.3, local view-change preparation). `checkpoint` is the latest stable
  /// checkpoint the replica knows, adopted before the VIEW-CHANGE part is sent.
  case leaveView(View, checkpoint: StableCheckpoint?)
  /// A sibling pillar proposed so far that this pillar, if it leads, must propose
  /// every instance up to local `through`, with empty batches if need be (§5.3.1).
  case fillGaps(through: OrderNumber)
  /// Every part of a NEW-VIEW is there, this pillar's own among them: install it.
  case ownNewView(NewView)
  /// The replica executed far enough that this pillar may deliver up to `through`
  /// (``OrderingPillar/deliveryLimit``).
  case deliverThrough(OrderNumber)
  /// Every pillar of this replica can lead `view`: send this pillar's NEW-VIEW part
  /// (§5.3.3, ⑦).
  case lead(View)
}

/// What an ordering pillar asks its shell to do, in order.
public enum PillarAction: Sendable, Equatable {
  /// Send to one replica.
  case send(ProtocolMessage, to: ReplicaID)
  /// Send to every other replica.
  case broadcast(ProtocolMessage)
  /// Execute the batch committed at `order` (local to the pillar; with one pillar
  /// local is global); emitted in strictly increasing, gap-free order.
  case deliver(order: OrderNumber, view: View, batch: Batch)
  /// This checkpoint became stable (f+1 matching CHECKPOINTs, its proof attached):
  /// the execution stage may discard older snapshots (§5.2.2), sibling pillars
  /// learn it (§5.3.2).
  case checkpointStable(StableCheckpoint)
  /// A stable checkpoint lies beyond what this replica executed: it must fetch
  /// that state from a replica that vouched for it (state transfer, §5.2.2).
  case stateTransferNeeded(order: OrderNumber, stateDigest: Digest, from: [ReplicaID])
  /// This replica left its view and supports `view` (§5.2.3); for logs and metrics.
  case viewChangeStarted(view: View)
  /// A NEW-VIEW installed `view` with `leader` (§5.2.3); for logs, metrics and the
  /// shell's leader hint.
  case viewInstalled(view: View, leader: ReplicaID)
  /// Deliver ``PillarInput/batchTimeout`` after the batch flush delay.
  case armBatchTimer
  /// The leader proposed every instance of this pillar up to local `through`; sibling
  /// pillars fill their gaps below it (``PillarInput/fillGaps(through:)``, §5.3.1).
  case proposedThrough(OrderNumber)
  /// This pillar holds a new-view certificate for `view`, which this replica leads;
  /// it sends its NEW-VIEW part once every pillar can (``PillarInput/lead(_:)``).
  case readyToLead(View)
  /// This pillar sent its part of a NEW-VIEW whose other parts other replicas send
  /// (rotating leaders); it installs the view once the coordinator has them all.
  case newViewPart(NewView)
  /// Make this record durable before carrying out any other action of this call
  /// that leaves the replica (a message or a delivery): persist before send (issue
  /// 12). Emitted only by a pillar that journals (``OrderingPillar/journaling``).
  case persist(PillarRecord)
  /// An input was dropped; counted and logged by the shell, never acted upon.
  case rejected(Rejection)
}
