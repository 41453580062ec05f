/// An invariant that one fuzz input broke (a trap is not one: it ends the process).
public struct FuzzFailure: Error, Equatable, Sendable, CustomStringConvertible {
  /// What did not hold.
  public var invariant: String

  /// A failure of `invariant`.
  public init(_ invariant: String) { self.invariant = invariant }

  public var description: String { invariant }
}
