/// The kind of a TrInX certificate. The kind's tag is the first byte under the MAC,
/// so a certificate of one kind can never be passed off as another (§5.1).
public enum CertificateKind: UInt8, Hashable, Sendable, CaseIterable {
  /// τ(tss, tc, tv', –): only for tv' strictly greater than the counter's value.
  case independent = 1
  /// τ(tss, tc, tv', tv): for tv' ≥ tv; the MAC also covers tv. With tv' == tv it
  /// is a *trusted MAC*.
  case continuing = 2
  /// An independent certificate over several counters at once.
  case multiIndependent = 3
  /// A continuing certificate over several counters at once.
  case multiContinuing = 4
}

/// A single-counter certificate as it travels with a message (§5.1).
///
/// For an independent certificate `previousValue` is `nil`; for a continuing one it
/// is the counter's value before certification (equal to `newValue` for a trusted
/// MAC). The receiver learns exactly what the issuer's counter did.
public struct Certificate: Hashable, Sendable {
  /// The TrInX instance that issued the certificate.
  public var issuer: TrInXInstanceID
  /// The counter it was issued on.
  public var counter: TrInXCounterID
  /// The counter's value after certification (tv').
  public var newValue: CounterValue
  /// The counter's value before certification (tv) for continuing certificates.
  public var previousValue: CounterValue?
  /// The HMAC-SHA256 tag.
  public var mac: TrInXMAC

  /// Creates a certificate from its parts (for decoding).
  public init(
    issuer: TrInXInstanceID, counter: TrInXCounterID, newValue: CounterValue,
    previousValue: CounterValue?, mac: TrInXMAC
  ) {
    self.issuer = issuer
    self.counter = counter
    self.newValue = newValue
    self.previousValue = previousValue
    self.mac = mac
  }

  /// The certificate's kind.
  public var kind: CertificateKind { previousValue == nil ? .independent : .continuing }

  /// Whether this is a trusted MAC (a continuing certificate that left the counter unchanged).
  public var isTrustedMAC: Bool { previousValue == newValue }
}
