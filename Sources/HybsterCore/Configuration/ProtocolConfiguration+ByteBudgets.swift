/// Byte budgets of the view change (issue 11): how large the messages that carry a
/// window may grow, so that every one a correct replica sends fits what its peers
/// accept (§5.2.3: a VIEW-CHANGE carries the PREPAREs of its sender's window, a
/// NEW-VIEW q VIEW-CHANGEs, the NEW-VIEW-ACKs and the re-proposals).
extension ProtocolConfiguration {
  /// The window byte budget of one checkpoint interval: the most bytes of batches
  /// that one view's PREPAREs may hold for the order numbers of one interval of a
  /// pillar (``maxWindowBytes`` over the window's intervals).
  public var intervalByteBudget: Int {
    maxWindowBytes / Int(windowSize / checkpointInterval)
  }

  /// What one PREPARE adds to a message besides its batch's requests: view, order
  /// number, request count and TrInX certificate, rounded up generously.
  static let prepareOverheadBytes = 256
  /// What one CHECKPOINT of a stable checkpoint's proof takes, rounded up.
  static let checkpointOverheadBytes = 256

  /// A bound on the bytes of a VIEW-CHANGE (or a NEW-VIEW-ACK, or a NEW-VIEW's
  /// re-proposals): a pillar's window of PREPAREs, whose batches hold at most twice
  /// the window budget (PREPAREs of several views may mix after view changes with
  /// lost messages), with their headers and a checkpoint proof.
  public var maxViewChangeBytes: Int {
    let window = Int(windowSize / UInt64(pillarCount))
    return 2 * maxWindowBytes + window * Self.prepareOverheadBytes + replicaCount
      * Self.checkpointOverheadBytes + 4096
  }

  /// The largest frame a replica accepts from a peer that proved it is a replica of
  /// the group: a NEW-VIEW with a VIEW-CHANGE and a NEW-VIEW-ACK of every replica
  /// and its re-proposals, and never less than the 16 MiB frame every other message
  /// fits.
  public var maxPeerFrameBytes: Int {
    max((2 * replicaCount + 1) * maxViewChangeBytes, 16 << 20 + 64 << 10)
  }
}
