import TrInX

/// The trusted counters of a pillar's TrInX instance (§5.2.1, §5.2.2).
public enum CounterLayout {
  /// 𝔒: the ordering counter, holding [v|o] of the last order message sent.
  public static let ordering: TrInXCounterID = 0
  /// 𝔐: the counter whose trusted MACs certify CHECKPOINTs.
  public static let checkpoint: TrInXCounterID = 1
  /// The number of counters a pillar needs.
  public static let count = 2

  /// The flattened value [v|o] (§5.2.1).
  @inlinable
  public static func flattened(view: View, order: OrderNumber) -> CounterValue {
    CounterValue(high: view, low: order)
  }
}
