/// What drives an ordering pillar. The shells (runtime, simulator) turn sockets,
/// timers and the execution stage into these inputs; the core never reads a clock.
public enum PillarInput: Sendable {
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
  /// resumes at `order + 1`.
  case stateTransferred(order: OrderNumber)
}

/// What an ordering pillar asks its shell to do, in order.
public enum PillarAction: Sendable, Equatable {
  /// Send to one replica.
  case send(ProtocolMessage, to: ReplicaID)
  /// Send to every other replica.
  case broadcast(ProtocolMessage)
  /// Execute the batch committed at `order`; emitted in strictly increasing,
  /// gap-free order.
  case deliver(order: OrderNumber, view: View, batch: Batch)
  /// The checkpoint at `order` became stable (f+1 matching CHECKPOINTs): the
  /// execution stage may discard older snapshots (§5.2.2).
  case checkpointStable(order: OrderNumber, stateDigest: Digest)
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
  /// An input was dropped; counted and logged by the shell, never acted upon.
  case rejected(Rejection)
}
