/// Why a TrInX instance refused a command (§5.1). A refused command changes nothing.
public enum TrInXError: Error, Hashable, Sendable {
  /// The counter id is not below the instance's number of counters.
  case unknownCounter(TrInXCounterID, counterCount: Int)
  /// An independent certificate needs a value strictly greater than the current one.
  case notGreater(counter: TrInXCounterID, current: CounterValue, requested: CounterValue)
  /// A continuing certificate needs a value greater than or equal to the current one.
  case wouldMoveBackwards(counter: TrInXCounterID, current: CounterValue, requested: CounterValue)
  /// The group key must be exactly 32 bytes.
  case invalidKeyLength(Int)
  /// A multi-counter command named no counter, or one counter twice.
  case invalidCounterSet
  /// A ``MultiTrInX`` does not host an instance with this id (§6.1).
  case unknownInstance(TrInXInstanceID)
  /// The value lies beyond the counter's durable reservation and no larger one could
  /// be stored (``CertificationLimit``); certifying it could repeat a value after a
  /// restart.
  case beyondReservation(counter: TrInXCounterID, requested: CounterValue, limit: CounterValue)
  /// Restored counter values must be exactly one per counter.
  case invalidRestoredCounters(count: Int, counterCount: Int)
}
