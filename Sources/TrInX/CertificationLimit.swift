/// A durable bound on how far one trusted counter may move (§5.1: "the platform
/// prevents rolling a trusted subsystem back").
///
/// A hardware TrInX keeps its counters in sealed storage bound to a monotonic
/// platform counter, so a restarted enclave can never issue a certificate for a value
/// it may have certified before. This software TrInX has no such platform. Instead it
/// *reserves*: before a counter may pass ``limit``, the ``CertificationLimitStore``
/// durably records a larger reservation. After a crash the instance is restored
/// (``TrInXInstance/init(id:counterCount:key:restoredCounters:)``) to the last durable
/// reservation, which is at least every value it could have certified, so it can only
/// certify strictly larger values afterwards.
///
/// To keep the certify path from waiting for the disk, the store is told once when
/// a certified value passes ``prepareAbove`` (well before ``limit``) and persists the
/// next reservation in the background; when the counter then crosses ``limit`` the
/// store normally has it durable already and answers without I/O.
public struct CertificationLimit: Hashable, Sendable {
  /// The counter the limit applies to.
  public var counter: TrInXCounterID
  /// The largest value the counter may be certified to: a durable reservation.
  public var limit: CounterValue
  /// Certifying a value above this one asks the store to prepare the next
  /// reservation (without waiting for it).
  public var prepareAbove: CounterValue

  /// Creates a limit.
  /// - Precondition: `prepareAbove <= limit`.
  public init(counter: TrInXCounterID, limit: CounterValue, prepareAbove: CounterValue) {
    precondition(prepareAbove <= limit, "prepareAbove must not exceed the limit")
    self.counter = counter
    self.limit = limit
    self.prepareAbove = prepareAbove
  }
}

/// Where a TrInX instance's reservations are kept durably: the stand-in for sealed
/// storage plus a monotonic counter (§5.1). Called from the certify path.
public protocol CertificationLimitStore: AnyObject, Sendable {
  /// A certificate for `value` is about to be issued and `value` passed the limit's
  /// ``CertificationLimit/prepareAbove``: start making a larger reservation durable.
  /// Must not block.
  func prepare(beyond value: CounterValue)

  /// A certificate for `value` beyond the current limit is requested: return a limit
  /// whose ``CertificationLimit/limit`` is durably stored and at least `value`,
  /// waiting for the write if it is not durable yet. Throwing refuses the
  /// certification with ``TrInXError/beyondReservation(counter:requested:limit:)``.
  func reserve(atLeast value: CounterValue) throws -> CertificationLimit
}
