/// A trusted counter value: a pair (high, low) compared lexicographically (§5.1).
///
/// Hybster stores the "flattened" number space `[v|o]` of a view `v` and an order
/// number `o` in it (§5.2.1): `high` is the view, `low` the order number, so that
/// every value of a higher view is greater than every value of a lower one.
public struct CounterValue: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The most significant part (the view in Hybster).
  public var high: UInt64
  /// The least significant part (the order number in Hybster).
  public var low: UInt64

  /// Creates the value `[high|low]`.
  @inlinable
  public init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }

  /// The value every counter starts with.
  public static let zero = CounterValue(high: 0, low: 0)

  @inlinable
  public static func < (lhs: CounterValue, rhs: CounterValue) -> Bool {
    lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
  }

  public var description: String { "[\(high)|\(low)]" }
}
