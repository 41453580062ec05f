import HybsterCore
import TrInX

/// One pillar's TrInX instance as the adversary holds it (§5.1): the only source of
/// the Byzantine replica's certificates in that pillar. Its real pillar runs on a copy
/// whose certificates never leave the replica: everything the pillar sends is
/// certified again here, so one trusted counter issues every certificate that goes on
/// the wire. A value certified once is certified again only for the same message (a
/// resend); TrInX refuses everything else below its counter, and so does this.
///
/// It never computes a MAC with the group key itself: every certificate comes from
/// ``TrInXInstance/certifyIndependent(counter:newValue:message:)``,
/// ``TrInXInstance/certifyContinuing(counter:newValue:message:)`` or
/// ``TrInXInstance/trustedMAC(counter:message:)``.
struct AdversarySigner: Sendable {
  /// The instance.
  private(set) var trinx: TrInXInstance
  /// Independent certificates issued on the ordering counter, by value.
  private var independent: [CounterValue: (digest: Digest, certificate: Certificate)] = [:]
  /// Continuing certificates issued on the ordering counter, by certified digest.
  private var continuing: [Digest: Certificate] = [:]

  /// How many issued certificates are remembered for resending.
  static let memory = 1024

  init(trinx: TrInXInstance) {
    self.trinx = trinx
  }

  /// The instance id.
  var id: TrInXInstanceID { trinx.id }

  /// The ordering counter's value [v|o].
  var ordering: CounterValue { (try? trinx.value(of: CounterLayout.ordering)) ?? .zero }

  /// τ(self, 𝔒, value, –) over `digest`, or the one issued before for the same
  /// value and digest; nil if the counter is past `value`.
  mutating func independent(_ value: CounterValue, over digest: Digest) -> Certificate? {
    if let known = independent[value] { return known.digest == digest ? known.certificate : nil }
    guard
      let certificate = try? trinx.certifyIndependent(
        counter: CounterLayout.ordering, newValue: value, message: digest)
    else { return nil }
    if independent.count >= Self.memory, let lowest = independent.keys.min() {
      independent[lowest] = nil
    }
    independent[value] = (digest, certificate)
    return certificate
  }

  /// τ(self, 𝔒, value, current) over `digest` (a VIEW-CHANGE), or the one issued
  /// before for the same digest; nil if the counter is past `value`.
  mutating func continuing(to value: CounterValue, over digest: Digest) -> Certificate? {
    if let known = continuing[digest], known.newValue == value { return known }
    guard
      let certificate = try? trinx.certifyContinuing(
        counter: CounterLayout.ordering, newValue: value, message: digest)
    else { return nil }
    if continuing.count >= Self.memory { continuing.removeAll() }
    continuing[digest] = certificate
    return certificate
  }

  /// "Cleaning" (§5.2.3): moves the ordering counter to [view|0] with a continuing
  /// certificate that is thrown away, so that the next continuing certificate shows
  /// a previous value with no order message in it.
  mutating func clean(to view: View) -> Bool {
    let target = CounterLayout.flattened(view: view, order: 0)
    guard target > ordering else { return false }
    var builder = DigestBuilder(tag: 0xAD)
    builder.append(view)
    return
      (try? trinx.certifyContinuing(
        counter: CounterLayout.ordering, newValue: target, message: builder.finalize())) != nil
  }

  /// A trusted MAC on the checkpoint counter (CHECKPOINT, NEW-VIEW-ACK).
  mutating func trustedMAC(over digest: Digest) -> Certificate? {
    try? trinx.trustedMAC(counter: CounterLayout.checkpoint, message: digest)
  }

  /// Whether `certificate` is valid over `digest` (any instance verifies any other's).
  func verify(_ certificate: Certificate, over digest: Digest) -> Bool {
    trinx.verify(certificate, message: digest)
  }

  /// A dry run: a throw-away copy to try a candidate message on (a NEW-VIEW the
  /// validator may reject). Nothing it certifies is ever sent; the message goes out
  /// only once this signer has certified it itself.
  var scratch: TrInXInstance { trinx }
}
