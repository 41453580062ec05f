import Foundation
import Testing
import TrInX

/// Known-answer tests against `Vectors/trinx-vectors.json`, produced by
/// `Vectors/generate.py` with Python's `hmac`/`hashlib` only: an independent
/// implementation of the MAC layouts (§5.1).
@Suite struct KnownAnswerTests {
  struct Value: Decodable {
    var high: UInt64
    var low: UInt64
    var counterValue: CounterValue { CounterValue(high: high, low: low) }
  }

  struct Update: Decodable {
    var counter: UInt32
    var newValue: Value
  }

  struct Request: Decodable {
    var op: String
    var counter: UInt32?
    var newValue: Value?
    var updates: [Update]?
    var message: String
  }

  struct Entry: Decodable {
    var counter: UInt32
    var newValue: Value
    var previousValue: Value?
  }

  struct Expected: Decodable {
    var kind: String
    var counter: UInt32?
    var newValue: Value?
    var previousValue: Value?
    var entries: [Entry]?
    var mac: String
  }

  struct Step: Decodable {
    var request: Request
    var certificate: Expected
  }

  struct Foreign: Decodable {
    var issuer: UInt32
    var message: String
    var certificate: Expected
  }

  struct Vectors: Decodable {
    var key: String
    var issuer: UInt32
    var counterCount: Int
    var steps: [Step]
    var finalCounters: [Value]
    var foreign: [Foreign]
  }

  static func load() throws -> Vectors {
    let url = try #require(
      Bundle.module.url(
        forResource: "trinx-vectors", withExtension: "json", subdirectory: "Vectors"))
    return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
  }

  enum Issued {
    case single(Certificate)
    case multi(MultiCounterCertificate)
  }

  @Test func vectorsCoverEveryKind() throws {
    let vectors = try Self.load()
    let kinds = Set(vectors.steps.map(\.certificate.kind))
    #expect(
      kinds == ["independent", "continuing", "trustedMAC", "multiIndependent", "multiContinuing"])
  }

  @Test func issuedMACsMatchVectorsAndVerify() throws {
    let vectors = try Self.load()
    var instance = try TrInXInstance(
      id: vectors.issuer, counterCount: vectors.counterCount, key: [UInt8](hex: vectors.key))
    for (index, step) in vectors.steps.enumerated() {
      let request = step.request
      let message = [UInt8](hex: request.message)
      let expected = step.certificate
      let issued: Issued
      switch request.op {
      case "independent":
        issued = .single(
          try instance.certifyIndependent(
            counter: request.counter!, newValue: request.newValue!.counterValue, message: message))
      case "continuing":
        issued = .single(
          try instance.certifyContinuing(
            counter: request.counter!, newValue: request.newValue!.counterValue, message: message))
      case "trustedMAC":
        issued = .single(try instance.trustedMAC(counter: request.counter!, message: message))
      case "multiIndependent", "multiContinuing":
        let updates = request.updates!.map {
          CounterUpdate(counter: $0.counter, newValue: $0.newValue.counterValue)
        }
        issued = .multi(
          request.op == "multiIndependent"
            ? try instance.certifyMultiIndependent(updates, message: message)
            : try instance.certifyMultiContinuing(updates, message: message))
      default:
        Issue.record("unknown op \(request.op)")
        continue
      }
      switch issued {
      case .single(let certificate):
        #expect(certificate.mac.bytes.hex == expected.mac, "step \(index)")
        #expect(certificate.issuer == vectors.issuer)
        #expect(certificate.counter == expected.counter)
        #expect(certificate.newValue == expected.newValue?.counterValue)
        #expect(certificate.previousValue == expected.previousValue?.counterValue)
        #expect(certificate.isTrustedMAC == (expected.kind == "trustedMAC"))
        #expect(instance.verify(certificate, message: message), "step \(index)")
      case .multi(let certificate):
        #expect(certificate.mac.bytes.hex == expected.mac, "step \(index)")
        #expect(
          certificate.kind
            == (expected.kind == "multiIndependent" ? .multiIndependent : .multiContinuing))
        #expect(
          certificate.entries
            == expected.entries!.map {
              .init(
                counter: $0.counter, newValue: $0.newValue.counterValue,
                previousValue: $0.previousValue?.counterValue)
            })
        #expect(instance.verify(certificate, message: message), "step \(index)")
      }
    }
    #expect(snapshot(instance) == vectors.finalCounters.map(\.counterValue))
  }

  /// Any instance of the group verifies any other's certificates (§5.1).
  @Test func foreignCertificatesVerify() throws {
    let vectors = try Self.load()
    let verifier = try TrInXInstance(id: 99, counterCount: 1, key: [UInt8](hex: vectors.key))
    for foreign in vectors.foreign {
      let message = [UInt8](hex: foreign.message)
      let mac = try #require(TrInXMAC(bytes: [UInt8](hex: foreign.certificate.mac)))
      if let entries = foreign.certificate.entries {
        let certificate = MultiCounterCertificate(
          issuer: foreign.issuer,
          kind: foreign.certificate.kind == "multiIndependent"
            ? .multiIndependent : .multiContinuing,
          entries: entries.map {
            .init(
              counter: $0.counter, newValue: $0.newValue.counterValue,
              previousValue: $0.previousValue?.counterValue)
          }, mac: mac)
        #expect(verifier.verify(certificate, message: message))
        var forged = certificate
        forged.mac = mac.flippingBit(255)
        #expect(!verifier.verify(forged, message: message))
      } else {
        let certificate = Certificate(
          issuer: foreign.issuer, counter: foreign.certificate.counter!,
          newValue: foreign.certificate.newValue!.counterValue,
          previousValue: foreign.certificate.previousValue?.counterValue, mac: mac)
        #expect(verifier.verify(certificate, message: message))
        var forged = certificate
        forged.mac = mac.flippingBit(0)
        #expect(!verifier.verify(forged, message: message))
      }
    }
  }
}
