/// STATUS ⟨r, v, next⟩: replica `r` in view `v` has delivered every order number
/// below `nextDelivery`. The network is unreliable (§5.2.2: messages must be resent
/// "sufficiently often"); a replica that makes no progress broadcasts its status
/// and peers resend the certified order and checkpoint messages it lacks. A STATUS
/// is not certified: it can only cause bounded, rate-limited resending of messages
/// that carry their own certificates.
public struct StatusMessage: Hashable, Sendable {
  /// The sender.
  public var replica: ReplicaID
  /// The sender's view.
  public var view: View
  /// The first order number the sender has not delivered.
  public var nextDelivery: OrderNumber

  /// Creates a STATUS.
  public init(replica: ReplicaID, view: View, nextDelivery: OrderNumber) {
    self.replica = replica
    self.view = view
    self.nextDelivery = nextDelivery
  }
}
