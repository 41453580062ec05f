import Testing
import TrInX

/// A certificate of one kind, counter, instance, value, previous value or message never
/// verifies as another (§5.1): every field is under the MAC, and so is the kind tag.
@Suite struct TamperTests {
  static let message: [UInt8] = Array("prepare v3 o17".utf8)

  static func issued() throws -> (
    TrInXInstance, independent: Certificate, continuing: Certificate, trusted: Certificate
  ) {
    var instance = try TrInXInstance(id: 5, counterCount: 3, key: testKey)
    let independent = try instance.certifyIndependent(
      counter: 0, newValue: .init(high: 3, low: 17), message: message)
    let continuing = try instance.certifyContinuing(
      counter: 1, newValue: .init(high: 3, low: 17), message: message)
    let trusted = try instance.trustedMAC(counter: 1, message: message)
    return (instance, independent, continuing, trusted)
  }

  /// Every single-field variation of `certificate`.
  static func variations(of c: Certificate) -> [(String, Certificate)] {
    var result: [(String, Certificate)] = []
    func vary(_ name: String, _ change: (inout Certificate) -> Void) {
      var copy = c
      change(&copy)
      result.append((name, copy))
    }
    vary("issuer") { $0.issuer ^= 1 }
    vary("counter") { $0.counter ^= 1 }
    vary("new.high") { $0.newValue.high ^= 1 }
    vary("new.low") { $0.newValue.low ^= 1 }
    vary("new.low high bit") { $0.newValue.low ^= 1 << 63 }
    if let previous = c.previousValue {
      vary("prev.high") { $0.previousValue!.high ^= 1 }
      vary("prev.low") { $0.previousValue!.low ^= 1 }
      vary("as independent") { $0.previousValue = nil }
      if previous != c.newValue { vary("as trusted MAC") { $0.previousValue = $0.newValue } }
    } else {
      vary("as continuing / trusted MAC") { $0.previousValue = $0.newValue }
      vary("as continuing from zero") { $0.previousValue = .zero }
    }
    for bit in [0, 7, 100, 255] { vary("mac bit \(bit)") { $0.mac = $0.mac.flippingBit(bit) } }
    return result
  }

  static func messageVariations(of message: [UInt8]) -> [[UInt8]] {
    var flipped = message
    flipped[0] ^= 1
    var lastFlipped = message
    lastFlipped[message.count - 1] ^= 0x80
    return [flipped, lastFlipped, message + [0], Array(message.dropLast()), []]
  }

  @Test func singleCounterFieldsAreBound() throws {
    let (instance, independent, continuing, trusted) = try Self.issued()
    for certificate in [independent, continuing, trusted] {
      #expect(instance.verify(certificate, message: Self.message))
      for (name, variant) in Self.variations(of: certificate) {
        #expect(!instance.verify(variant, message: Self.message), "\(certificate.kind) \(name)")
      }
      for other in Self.messageVariations(of: Self.message) {
        #expect(!instance.verify(certificate, message: other))
      }
    }
  }

  /// An independent certificate and a trusted MAC over identical values and message
  /// have different MACs and never stand in for each other.
  @Test func independentAndTrustedMACDoNotCrossVerify() throws {
    var a = try TrInXInstance(id: 5, counterCount: 1, key: testKey)
    var b = try TrInXInstance(id: 5, counterCount: 1, key: testKey)
    let value = CounterValue(high: 0, low: 1)
    let independent = try a.certifyIndependent(counter: 0, newValue: value, message: Self.message)
    _ = try b.certifyContinuing(counter: 0, newValue: value, message: [])
    let trusted = try b.trustedMAC(counter: 0, message: Self.message)
    #expect(trusted.isTrustedMAC && trusted.newValue == independent.newValue)
    #expect(independent.mac != trusted.mac)
    var asTrusted = independent
    asTrusted.previousValue = value
    var asIndependent = trusted
    asIndependent.previousValue = nil
    #expect(!a.verify(asTrusted, message: Self.message))
    #expect(!a.verify(asIndependent, message: Self.message))
  }

  @Test func otherKeyDoesNotVerify() throws {
    let (_, independent, continuing, _) = try Self.issued()
    var otherKey = testKey
    otherKey[31] ^= 1
    let stranger = try TrInXInstance(id: 5, counterCount: 3, key: otherKey)
    #expect(!stranger.verify(independent, message: Self.message))
    #expect(!stranger.verify(continuing, message: Self.message))
    // The same key in another instance of the group does verify.
    let peer = try TrInXInstance(id: 6, counterCount: 1, key: testKey)
    #expect(peer.verify(independent, message: Self.message))
  }

  @Test func multiCounterFieldsAreBound() throws {
    var instance = try TrInXInstance(id: 5, counterCount: 4, key: testKey)
    _ = try instance.certifyIndependent(counter: 2, newValue: .init(high: 1, low: 1), message: [])
    let updates = [
      CounterUpdate(counter: 2, newValue: .init(high: 1, low: 2)),
      CounterUpdate(counter: 0, newValue: .init(high: 0, low: 9)),
    ]
    let independent = try instance.certifyMultiIndependent(updates, message: Self.message)
    let continuing = try instance.certifyMultiContinuing(
      updates.map {
        CounterUpdate(counter: $0.counter, newValue: .init(high: 2, low: $0.newValue.low))
      },
      message: Self.message)
    for certificate in [independent, continuing] {
      #expect(instance.verify(certificate, message: Self.message))
      var variants: [(String, MultiCounterCertificate)] = []
      func vary(_ name: String, _ change: (inout MultiCounterCertificate) -> Void) {
        var copy = certificate
        change(&copy)
        variants.append((name, copy))
      }
      vary("issuer") { $0.issuer ^= 1 }
      vary("entry counter") { $0.entries[1].counter = 3 }
      vary("entry new.high") { $0.entries[0].newValue.high ^= 1 }
      vary("entry new.low") { $0.entries[1].newValue.low ^= 1 }
      vary("reordered") { $0.entries.reverse() }
      vary("entry dropped") { $0.entries.removeLast() }
      vary("entry added") {
        $0.entries.append(
          .init(counter: 3, newValue: .zero, previousValue: $0.entries[0].previousValue))
      }
      vary("no entries") { $0.entries = [] }
      vary("duplicate entry") { $0.entries[1] = $0.entries[0] }
      vary("mac") { $0.mac = $0.mac.flippingBit(42) }
      vary("single-counter kind") {
        $0.kind = $0.kind == .multiIndependent ? .independent : .continuing
      }
      if certificate.kind == .multiContinuing {
        vary("prev.low") { $0.entries[0].previousValue!.low ^= 1 }
        vary("prev.high") { $0.entries[1].previousValue!.high ^= 1 }
        vary("as independent") {
          $0.kind = .multiIndependent
          for i in $0.entries.indices { $0.entries[i].previousValue = nil }
        }
        vary("kind only") { $0.kind = .multiIndependent }
      } else {
        vary("as continuing") {
          $0.kind = .multiContinuing
          for i in $0.entries.indices { $0.entries[i].previousValue = $0.entries[i].newValue }
        }
        vary("kind only") { $0.kind = .multiContinuing }
      }
      for (name, variant) in variants {
        #expect(!instance.verify(variant, message: Self.message), "\(certificate.kind) \(name)")
      }
      for other in Self.messageVariations(of: Self.message) {
        #expect(!instance.verify(certificate, message: other))
      }
    }
  }

  /// A one-entry multi-counter certificate and a single-counter one over the same
  /// values never verify as each other.
  @Test func singleAndMultiDoNotCrossVerify() throws {
    var a = try TrInXInstance(id: 5, counterCount: 1, key: testKey)
    var b = a
    let value = CounterValue(high: 0, low: 4)
    let single = try a.certifyIndependent(counter: 0, newValue: value, message: Self.message)
    let multi = try b.certifyMultiIndependent(
      [CounterUpdate(counter: 0, newValue: value)], message: Self.message)
    #expect(single.mac != multi.mac)
    var singleWithMultiMAC = single
    singleWithMultiMAC.mac = multi.mac
    var multiWithSingleMAC = multi
    multiWithSingleMAC.mac = single.mac
    #expect(!a.verify(singleWithMultiMAC, message: Self.message))
    #expect(!a.verify(multiWithSingleMAC, message: Self.message))
  }
}
