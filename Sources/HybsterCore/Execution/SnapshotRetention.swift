/// Which checkpoint snapshots a replica keeps on disk (§5.2.2, issue 12): the
/// ``newest`` few, to restart from, and every one from its last stable checkpoint on.
/// A replica behind can fetch only the group's stable checkpoint, and after a power
/// cut the replica that has it may have taken newer ones since. The runtime's
/// snapshot store and the simulator's disk both keep what this says.
public enum SnapshotRetention {
  /// How many of the newest snapshots are kept, whatever is stable.
  public static let newest = 2

  /// The snapshots among `orders` a replica no longer needs once `stable` is its last
  /// stable checkpoint.
  public static func superseded(_ orders: [OrderNumber], stable: OrderNumber) -> [OrderNumber] {
    orders.sorted(by: >).dropFirst(newest).filter { $0 < stable }
  }
}
