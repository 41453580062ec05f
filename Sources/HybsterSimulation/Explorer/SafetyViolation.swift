import HybsterCore

/// The safety properties the explorer checks in every state it reaches (§5.2,
/// DESIGN.md "Safety ... must hold against all of it").
public enum SafetyProperty: String, Sendable, Hashable, CaseIterable {
  /// No two correct replicas deliver different batches at one order number.
  case agreement
  /// Every delivered request was sent by a client (empty batches are no-ops).
  case validity
  /// No correct replica delivers, PREPAREs, COMMITs or keeps a log slot beyond its
  /// high water mark (§5.2.2: "strictly adheres to this window even during a
  /// view-change").
  case window
  /// A stable checkpoint at a correct replica carries the state digest correct
  /// replicas computed at that order number (§5.2.2).
  case checkpointDigest
}

/// A broken safety property and what broke it.
public struct SafetyViolation: Sendable, Hashable, CustomStringConvertible {
  /// The property.
  public var property: SafetyProperty
  /// What exactly was wrong.
  public var detail: String

  public var description: String { "\(property.rawValue) violated: \(detail)" }
}
