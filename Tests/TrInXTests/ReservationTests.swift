import Synchronization
import Testing
import TrInX

/// A store that records what it was asked, in order, and grants `step` beyond.
final class RecordingStore: CertificationLimitStore {
  enum Event: Hashable { case prepared(CounterValue), reserved(CounterValue) }
  let step: UInt64
  let fails: Bool
  private let log = Mutex<[Event]>([])

  init(step: UInt64, fails: Bool = false) {
    self.step = step
    self.fails = fails
  }

  var events: [Event] { log.withLock { $0 } }

  func prepare(beyond value: CounterValue) {
    log.withLock { $0.append(.prepared(value)) }
  }

  struct Refused: Error {}

  func reserve(atLeast value: CounterValue) throws -> CertificationLimit {
    if fails { throw Refused() }
    let limit = CounterValue(high: value.high, low: value.low + step)
    log.withLock { $0.append(.reserved(limit)) }
    return CertificationLimit(
      counter: 0, limit: limit,
      prepareAbove: CounterValue(high: limit.high, low: limit.low - step / 2))
  }
}

@Suite("TrInX restored counters and durable limits (§5.1)")
struct ReservationTests {
  let message: [UInt8] = [1, 2, 3]

  @Test("a restored instance refuses every value at or below its restored counter")
  func restoredRefusesOldValues() throws {
    let reservation = CounterValue(high: 2, low: 40)
    var instance = try TrInXInstance(
      id: 4, counterCount: 2, key: testKey, restoredCounters: [reservation, .zero])
    #expect(try instance.value(of: 0) == reservation)
    for view in UInt64(0)...2 {
      for order in UInt64(0)...45 {
        let value = CounterValue(high: view, low: order)
        if value <= reservation {
          #expect(throws: TrInXError.notGreater(counter: 0, current: reservation, requested: value))
          {
            try instance.certifyIndependent(counter: 0, newValue: value, message: message)
          }
        }
      }
    }
    #expect(try instance.value(of: 0) == reservation)
    let next = CounterValue(high: 2, low: 41)
    let certificate = try instance.certifyIndependent(counter: 0, newValue: next, message: message)
    #expect(certificate.newValue == next)
    #expect(instance.verify(certificate, message: message))
  }

  @Test("restoring needs exactly one value per counter")
  func restoredCountMustMatch() {
    #expect(throws: TrInXError.invalidRestoredCounters(count: 1, counterCount: 2)) {
      try TrInXInstance(id: 0, counterCount: 2, key: testKey, restoredCounters: [.zero])
    }
  }

  @Test("a certificate beyond the limit is issued only after the store reserved it")
  func reservesBeforeCertifying() throws {
    let store = RecordingStore(step: 10)
    var instance = try TrInXInstance(id: 0, counterCount: 2, key: testKey)
    try instance.limitCertification(
      CertificationLimit(
        counter: 0, limit: CounterValue(high: 0, low: 10),
        prepareAbove: CounterValue(high: 0, low: 5)), store: store)
    for order in UInt64(1)...5 {
      _ = try instance.certifyIndependent(
        counter: 0, newValue: CounterValue(high: 0, low: order), message: message)
    }
    #expect(store.events.isEmpty)
    _ = try instance.certifyIndependent(
      counter: 0, newValue: CounterValue(high: 0, low: 6), message: message)
    #expect(store.events == [.prepared(CounterValue(high: 0, low: 6))])
    for order in UInt64(7)...10 {
      _ = try instance.certifyIndependent(
        counter: 0, newValue: CounterValue(high: 0, low: order), message: message)
    }
    #expect(store.events.count == 1)
    // Crossing the limit: the reservation comes first, then the certificate.
    let beyond = CounterValue(high: 0, low: 11)
    let certificate = try instance.certifyIndependent(
      counter: 0, newValue: beyond, message: message)
    #expect(certificate.newValue == beyond)
    #expect(store.events.dropFirst().first == .reserved(CounterValue(high: 0, low: 21)))
    #expect(instance.certificationLimit?.limit == CounterValue(high: 0, low: 21))
    // A view change jumps the high part: reserved before it is certified.
    let newView = CounterValue(high: 1, low: 0)
    _ = try instance.certifyContinuing(counter: 0, newValue: newView, message: message)
    #expect(store.events.contains(.reserved(CounterValue(high: 1, low: 10))))
    #expect(instance.certificationLimit?.limit == CounterValue(high: 1, low: 10))
  }

  @Test(
    "if no reservation can be stored, certification beyond the limit is refused and changes nothing"
  )
  func refusedWithoutReservation() throws {
    let store = RecordingStore(step: 10, fails: true)
    var instance = try TrInXInstance(id: 0, counterCount: 2, key: testKey)
    let limit = CounterValue(high: 0, low: 3)
    try instance.limitCertification(
      CertificationLimit(counter: 0, limit: limit, prepareAbove: limit), store: store)
    for order in UInt64(1)...3 {
      _ = try instance.certifyIndependent(
        counter: 0, newValue: CounterValue(high: 0, low: order), message: message)
    }
    let beyond = CounterValue(high: 0, low: 4)
    #expect(throws: TrInXError.beyondReservation(counter: 0, requested: beyond, limit: limit)) {
      try instance.certifyIndependent(counter: 0, newValue: beyond, message: message)
    }
    #expect(throws: TrInXError.beyondReservation(counter: 0, requested: beyond, limit: limit)) {
      try instance.certifyMultiIndependent(
        [
          CounterUpdate(counter: 1, newValue: CounterValue(high: 0, low: 1)),
          CounterUpdate(counter: 0, newValue: beyond),
        ], message: message)
    }
    #expect(try instance.value(of: 0) == limit)
    #expect(try instance.value(of: 1) == .zero)
    // Trusted MACs do not move the counter and stay available.
    let mac = try instance.trustedMAC(counter: 0, message: message)
    #expect(mac.newValue == limit)
    // The other counter is not limited.
    _ = try instance.certifyIndependent(
      counter: 1, newValue: CounterValue(high: 9, low: 9), message: message)
  }
}
