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

  /// Creates an instance with `counterCount` counters, all at ``CounterValue/zero``.
  /// - Throws: ``TrInXError/invalidKeyLength(_:)`` unless `key` has 32 bytes.
  public init(id: TrInXInstanceID, counterCount: Int, key: [UInt8]) throws(TrInXError) {
    guard key.count == 32 else { throw .invalidKeyLength(key.count) }
    precondition(counterCount > 0, "a TrInX instance needs at least one counter")
    self.id = id
    self.counters = Array(repeating: .zero, count: counterCount)
    self.keyed = KeyedHMAC(key: key)
  }

  /// The number of counters.
  public var counterCount: Int { counters.count }

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
