/// One counter's part of a multi-counter certificate or request (§5.1).
public struct CounterUpdate: Hashable, Sendable {
  /// The counter to certify.
  public var counter: TrInXCounterID
  /// The value the counter shall have after certification (tv').
  public var newValue: CounterValue

  /// Requests that `counter` be certified with, and set to, `newValue`.
  public init(counter: TrInXCounterID, newValue: CounterValue) {
    self.counter = counter
    self.newValue = newValue
  }
}

/// A certificate over the values of several counters of one TrInX instance at once
/// (§5.1, "Multi-Counter Certificates"): one MAC instead of one certificate per
/// counter, used to prove the state of more than one counter to other parties.
///
/// Like the single-counter kinds it comes in two flavours:
/// - ``CertificateKind/multiIndependent``: every entry's `newValue` was strictly
///   greater than its counter's value; `previousValue` is `nil` for every entry.
/// - ``CertificateKind/multiContinuing``: every entry's `newValue` was greater than or
///   equal to its counter's value, which the entry carries as `previousValue`.
///
/// MAC layout (all integers big-endian), HMAC-SHA256 with the group key:
///
///     kind:u8 (3 or 4) | issuer:u32 | count:u32
///       | count × ( counter:u32 | new.high:u64 | new.low:u64
///                   [| prev.high:u64 | prev.low:u64] )   (multiContinuing only)
///       | message
///
/// Entries are covered in the order they appear in ``entries``, which is the order in
/// which they were requested. Issuing is all-or-nothing: if any counter would be
/// refused, no counter changes.
public struct MultiCounterCertificate: Hashable, Sendable {
  /// One certified counter.
  public struct Entry: Hashable, Sendable {
    /// The counter.
    public var counter: TrInXCounterID
    /// The counter's value after certification (tv').
    public var newValue: CounterValue
    /// The counter's value before certification (tv); `nil` for independent ones.
    public var previousValue: CounterValue?

    /// Creates an entry from its parts (for decoding).
    public init(counter: TrInXCounterID, newValue: CounterValue, previousValue: CounterValue?) {
      self.counter = counter
      self.newValue = newValue
      self.previousValue = previousValue
    }
  }

  /// The TrInX instance that issued the certificate.
  public var issuer: TrInXInstanceID
  /// ``CertificateKind/multiIndependent`` or ``CertificateKind/multiContinuing``.
  public var kind: CertificateKind
  /// The certified counters, in the order they are covered by the MAC.
  public var entries: [Entry]
  /// The HMAC-SHA256 tag.
  public var mac: TrInXMAC

  /// Creates a certificate from its parts (for decoding).
  public init(issuer: TrInXInstanceID, kind: CertificateKind, entries: [Entry], mac: TrInXMAC) {
    self.issuer = issuer
    self.kind = kind
    self.entries = entries
    self.mac = mac
  }

  /// Whether the certificate has a shape an instance could have issued: a multi-counter
  /// kind, at least one entry, no counter twice, and previous values present exactly
  /// for ``CertificateKind/multiContinuing``. Verification fails for any other shape.
  public var isWellFormed: Bool {
    let continuing: Bool
    switch kind {
    case .multiIndependent: continuing = false
    case .multiContinuing: continuing = true
    case .independent, .continuing: return false
    }
    guard entries.allSatisfy({ ($0.previousValue != nil) == continuing }) else { return false }
    return hasDistinctNonEmptyCounters(entries.map(\.counter))
  }
}

/// Whether `counters` is non-empty and names no counter twice.
func hasDistinctNonEmptyCounters(_ counters: [TrInXCounterID]) -> Bool {
  guard !counters.isEmpty else { return false }
  if counters.count <= 16 {
    for i in counters.indices {
      for j in counters.indices where j > i && counters[i] == counters[j] { return false }
    }
    return true
  }
  return Set(counters).count == counters.count
}
