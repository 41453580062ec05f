/// A deterministic service replicated by Hybster (§5.2; the paper's microbenchmark
/// and coordination service, §6.2, §6.4).
///
/// Every correct replica executes the same operations in the same order and must
/// reach the same state and results: no clocks, randomness or I/O inside.
public protocol ReplicatedService: Sendable {
  /// Executes `operation` and returns its result.
  mutating func execute(_ operation: [UInt8]) -> [UInt8]
  /// A canonical serialization of the full state (equal states give equal bytes).
  func snapshot() -> [UInt8]
  /// Replaces the state with a snapshot taken by ``snapshot()``.
  mutating func restore(from snapshot: [UInt8]) throws
}
