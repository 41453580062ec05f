import Crypto
import Foundation

/// One TrInX instance: a set of trusted counters and the group's secret key (§5.1).
///
/// This is the *trusted* part of a replica. Everything it offers is a certification
/// or a verification; it accepts only plain values and returns only plain values, so
/// that the same interface could sit at an enclave (SGX) or process boundary. That
/// boundary is spelled out as ``TrInXCommand``/``TrInXResult`` and
/// ``execute(_:)-([TrInXCommand])``. One instance per pillar, owned by its thread, is the
/// default deployment (§5.3, §6.1); ``MultiTrInX`` hosts several behind one lock.
///
/// MAC layout for single-counter certificates (all integers big-endian), HMAC-SHA256
/// with the group key:
///
///     kind:u8 (1 independent, 2 continuing) | issuer:u32 | counter:u32
///            | new.high:u64 | new.low:u64
///            [| prev.high:u64 | prev.low:u64]   (continuing only)
///            | message
///
/// A trusted MAC is a continuing certificate with prev == new (kind 2). Multi-counter
/// certificates (kinds 3 and 4) are laid out as documented on
/// ``MultiCounterCertificate``.
///
/// What it does not protect: there is no SGX here, the key lives in the replica's
/// memory. A compromised host process can read it and forge certificates. TrInX in
/// this code base enforces the *protocol's* use of counters; it is the component that
/// a hardware-backed implementation would replace.
public struct TrInXInstance: Sendable {
  /// This instance's identifier.
  public let id: TrInXInstanceID
  @usableFromInline var counters: [CounterValue]
  @usableFromInline let keyed: KeyedHMAC
  /// The durable limit on one counter, and where its reservations are stored.
  var durableLimit: (limit: CertificationLimit, store: any CertificationLimitStore)?

  /// Creates an instance with `counterCount` counters, all at ``CounterValue/zero``.
  /// - Throws: ``TrInXError/invalidKeyLength(_:)`` unless `key` has 32 bytes.
  public init(id: TrInXInstanceID, counterCount: Int, key: [UInt8]) throws(TrInXError) {
    guard key.count == 32 else { throw .invalidKeyLength(key.count) }
    precondition(counterCount > 0, "a TrInX instance needs at least one counter")
    self.id = id
    self.counters = Array(repeating: .zero, count: counterCount)
    self.keyed = KeyedHMAC(key: key)
  }

  /// Recreates an instance whose counters were saved before a restart: the "unseal"
  /// step (§5.1).
  ///
  /// A hardware backend would read the counters from sealed storage and refuse a
  /// sealed state older than the platform's monotonic counter, so that a restarted
  /// enclave never certifies a value twice. Here the caller passes values that are at
  /// least every value the previous incarnation could have certified: the last durable
  /// reservation of a ``CertificationLimit`` (see `docs/trinx.md`). The instance then
  /// certifies only strictly larger values on those counters.
  /// - Throws: ``TrInXError/invalidKeyLength(_:)`` unless `key` has 32 bytes;
  ///   ``TrInXError/invalidRestoredCounters(count:counterCount:)`` unless
  ///   `restoredCounters` has exactly `counterCount` values.
  public init(
    id: TrInXInstanceID, counterCount: Int, key: [UInt8], restoredCounters: [CounterValue]
  ) throws(TrInXError) {
    guard restoredCounters.count == counterCount else {
      throw .invalidRestoredCounters(count: restoredCounters.count, counterCount: counterCount)
    }
    try self.init(id: id, counterCount: counterCount, key: key)
    counters = restoredCounters
  }

  /// The number of counters.
  public var counterCount: Int { counters.count }

  /// The durable limit in force, if any.
  public var certificationLimit: CertificationLimit? { durableLimit?.limit }

  /// Bounds `limit.counter` by a durable reservation: certifying a value above
  /// `limit.limit` first obtains a larger durable reservation from `store`, and is
  /// refused with ``TrInXError/beyondReservation(counter:requested:limit:)`` if it
  /// cannot. Trusted MACs never move a counter and are never refused by the limit.
  /// - Throws: ``TrInXError/unknownCounter(_:counterCount:)``.
  public mutating func limitCertification(
    _ limit: CertificationLimit, store: any CertificationLimitStore
  ) throws(TrInXError) {
    try checkCounter(limit.counter)
    durableLimit = (limit, store)
  }

  /// Admits a certification of `counter` to `value` under the durable limit. Cheap
  /// unless `value` passes the limit's `prepareAbove` mark.
  @inline(__always)
  mutating func admit(counter: TrInXCounterID, value: CounterValue) throws(TrInXError) {
    guard let durable = durableLimit, durable.limit.counter == counter,
      value > durable.limit.prepareAbove
    else { return }
    try admitSlow(value: value)
  }

  mutating func admitSlow(value: CounterValue) throws(TrInXError) {
    guard let durable = durableLimit else { return }
    var limit = durable.limit
    let store = durable.store
    if value > limit.limit {
      let granted: CertificationLimit
      do {
        granted = try store.reserve(atLeast: value)
      } catch {
        throw .beyondReservation(counter: limit.counter, requested: value, limit: limit.limit)
      }
      guard granted.counter == limit.counter, granted.limit >= value else {
        throw .beyondReservation(counter: limit.counter, requested: value, limit: limit.limit)
      }
      // A limit never shrinks, whatever the store answers.
      if granted.limit > limit.limit { limit = granted }
      durableLimit = (limit, store)
    }
    if value > limit.prepareAbove {
      store.prepare(beyond: value)
      limit.prepareAbove = limit.limit
      durableLimit = (limit, store)
    }
  }

  /// The current value of `counter`.
  public func value(of counter: TrInXCounterID) throws(TrInXError) -> CounterValue {
    try checkCounter(counter)
    return counters[Int(counter)]
  }

  /// Issues an independent certificate τ(tss, tc, tv', –) and sets the counter to tv'.
  /// - Throws: ``TrInXError/notGreater(counter:current:requested:)`` unless
  ///   `newValue` is strictly greater than the counter's value.
  public mutating func certifyIndependent(
    counter: TrInXCounterID, newValue: CounterValue, message: some ContiguousBytes
  ) throws(TrInXError) -> Certificate {
    try checkCounter(counter)
    let current = counters[Int(counter)]
    guard newValue > current else {
      throw .notGreater(counter: counter, current: current, requested: newValue)
    }
    try admit(counter: counter, value: newValue)
    let mac = keyed.mac(
      kind: .independent, issuer: id, counter: counter, newValue: newValue, previous: nil,
      message: message)
    counters[Int(counter)] = newValue
    return Certificate(
      issuer: id, counter: counter, newValue: newValue, previousValue: nil, mac: mac)
  }

  /// Issues a continuing certificate τ(tss, tc, tv', tv) and sets the counter to tv'.
  /// - Throws: ``TrInXError/wouldMoveBackwards(counter:current:requested:)`` if
  ///   `newValue` is below the counter's value.
  public mutating func certifyContinuing(
    counter: TrInXCounterID, newValue: CounterValue, message: some ContiguousBytes
  ) throws(TrInXError) -> Certificate {
    try checkCounter(counter)
    let current = counters[Int(counter)]
    guard newValue >= current else {
      throw .wouldMoveBackwards(counter: counter, current: current, requested: newValue)
    }
    if newValue != current { try admit(counter: counter, value: newValue) }
    let mac = keyed.mac(
      kind: .continuing, issuer: id, counter: counter, newValue: newValue, previous: current,
      message: message)
    counters[Int(counter)] = newValue
    return Certificate(
      issuer: id, counter: counter, newValue: newValue, previousValue: current, mac: mac)
  }

  /// Issues a trusted MAC: a continuing certificate that leaves the counter unchanged.
  public mutating func trustedMAC(
    counter: TrInXCounterID, message: some ContiguousBytes
  ) throws(TrInXError) -> Certificate {
    try checkCounter(counter)
    return try certifyContinuing(
      counter: counter, newValue: counters[Int(counter)], message: message)
  }

  /// Whether `certificate` is a valid certificate over `message` by its issuer.
  ///
  /// Any instance of the group can verify any other's certificates: it recomputes
  /// the MAC with the shared key and compares in constant time.
  public func verify(_ certificate: Certificate, message: some ContiguousBytes) -> Bool {
    let expected = keyed.mac(
      kind: certificate.kind, issuer: certificate.issuer, counter: certificate.counter,
      newValue: certificate.newValue, previous: certificate.previousValue, message: message)
    return expected == certificate.mac
  }

  /// Issues an independent multi-counter certificate (§5.1) over all `updates` and
  /// sets each named counter to its new value.
  ///
  /// All-or-nothing: if any update would be refused, no counter changes.
  /// - Throws: ``TrInXError/invalidCounterSet`` if `updates` is empty or names a
  ///   counter twice; otherwise, for the first offending update in order,
  ///   ``TrInXError/unknownCounter(_:counterCount:)`` or
  ///   ``TrInXError/notGreater(counter:current:requested:)``.
  public mutating func certifyMultiIndependent(
    _ updates: [CounterUpdate], message: some ContiguousBytes
  ) throws(TrInXError) -> MultiCounterCertificate {
    try certifyMulti(updates, kind: .multiIndependent, message: message)
  }

  /// Issues a continuing multi-counter certificate (§5.1) over all `updates`, covering
  /// each counter's previous value too, and sets each named counter to its new value.
  /// With every new value equal to the current one it is a multi-counter trusted MAC.
  ///
  /// All-or-nothing: if any update would be refused, no counter changes.
  /// - Throws: ``TrInXError/invalidCounterSet`` if `updates` is empty or names a
  ///   counter twice; otherwise, for the first offending update in order,
  ///   ``TrInXError/unknownCounter(_:counterCount:)`` or
  ///   ``TrInXError/wouldMoveBackwards(counter:current:requested:)``.
  public mutating func certifyMultiContinuing(
    _ updates: [CounterUpdate], message: some ContiguousBytes
  ) throws(TrInXError) -> MultiCounterCertificate {
    try certifyMulti(updates, kind: .multiContinuing, message: message)
  }

  /// Whether `certificate` is a valid multi-counter certificate over `message` by its
  /// issuer. Certificates that are not ``MultiCounterCertificate/isWellFormed`` never
  /// verify.
  public func verify(_ certificate: MultiCounterCertificate, message: some ContiguousBytes)
    -> Bool
  {
    guard certificate.isWellFormed else { return false }
    let expected = keyed.mac(
      kind: certificate.kind, issuer: certificate.issuer, entries: certificate.entries,
      message: message)
    return expected == certificate.mac
  }

  mutating func certifyMulti(
    _ updates: [CounterUpdate], kind: CertificateKind, message: some ContiguousBytes
  ) throws(TrInXError) -> MultiCounterCertificate {
    guard hasDistinctNonEmptyCounters(updates.map(\.counter)) else {
      throw .invalidCounterSet
    }
    // Check everything before touching anything: a refusal must change nothing.
    var entries: [MultiCounterCertificate.Entry] = []
    entries.reserveCapacity(updates.count)
    for update in updates {
      try checkCounter(update.counter)
      let current = counters[Int(update.counter)]
      switch kind {
      case .multiIndependent:
        guard update.newValue > current else {
          throw .notGreater(counter: update.counter, current: current, requested: update.newValue)
        }
        entries.append(
          .init(counter: update.counter, newValue: update.newValue, previousValue: nil))
      default:
        guard update.newValue >= current else {
          throw .wouldMoveBackwards(
            counter: update.counter, current: current, requested: update.newValue)
        }
        entries.append(
          .init(counter: update.counter, newValue: update.newValue, previousValue: current))
      }
    }
    for entry in entries where entry.newValue != entry.previousValue {
      try admit(counter: entry.counter, value: entry.newValue)
    }
    let mac = keyed.mac(kind: kind, issuer: id, entries: entries, message: message)
    for update in updates { counters[Int(update.counter)] = update.newValue }
    return MultiCounterCertificate(issuer: id, kind: kind, entries: entries, mac: mac)
  }

  @inline(__always)
  func checkCounter(_ counter: TrInXCounterID) throws(TrInXError) {
    guard Int(counter) < counters.count else {
      throw .unknownCounter(counter, counterCount: counters.count)
    }
  }
}
