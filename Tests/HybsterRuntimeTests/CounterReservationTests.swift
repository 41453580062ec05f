import Foundation
import HybsterRuntime
import Synchronization
import Testing
import TrInX

/// Records every durable write, in order, alongside the certificates the test
/// issues, so ordering between the two is observable without a clock.
final class RecordingWriter: ReservationWriter {
  enum Event: Hashable { case wrote(CounterValue), certified(CounterValue) }
  let log = Mutex<[Event]>([])
  func write(_ value: CounterValue) throws { log.withLock { $0.append(.wrote(value)) } }
  func certified(_ value: CounterValue) { log.withLock { $0.append(.certified(value)) } }
  var events: [Event] { log.withLock { $0 } }
}

@Suite("Counter reservations across restarts (§5.1)")
struct CounterReservationTests {
  let key = [UInt8](repeating: 5, count: 32)
  let message: [UInt8] = [0xAB]

  func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "hybster-reservation-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  @Test(
    "every certificate beyond the previous reservation is preceded by a durable write that covers it"
  )
  func writeBeforeCertificate() throws {
    let writer = RecordingWriter()
    let reservation = try CounterReservation.open(
      counter: 0, step: 8, restored: nil, writer: writer)
    #expect(writer.events == [.wrote(CounterValue(high: 0, low: 8))])
    var trinx = try TrInXInstance(id: 1, counterCount: 2, key: key)
    try trinx.limitCertification(reservation.limit, store: reservation)
    var values: [CounterValue] = (1...40).map { CounterValue(high: 0, low: $0) }
    values += (0...20).map { CounterValue(high: 1, low: $0) }
    for value in values {
      _ = try trinx.certifyIndependent(counter: 0, newValue: value, message: message)
      writer.certified(value)
    }
    // Every certified value was covered by a write logged before it.
    var covered = CounterValue.zero
    for event in writer.events {
      switch event {
      case .wrote(let value): covered = max(covered, value)
      case .certified(let value):
        #expect(value <= covered, "\(value) certified before it was reserved")
      }
    }
    #expect(reservation.durable >= CounterValue(high: 1, low: 20))
    #expect(reservation.failures == 0)
  }

  @Test("a restarted instance restored from the file refuses every value up to the reservation")
  func restartFromFile() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/replica-1.counter"
    let writer = FileReservationWriter(path: path, instance: 1, key: key)
    #expect(try writer.load() == nil)
    var highest = CounterValue.zero
    do {
      let reservation = try CounterReservation.open(
        counter: 0, step: 16, restored: try writer.load(), writer: writer)
      var trinx = try TrInXInstance(id: 1, counterCount: 2, key: key)
      try trinx.limitCertification(reservation.limit, store: reservation)
      for order in UInt64(1)...100 {
        highest = CounterValue(high: 0, low: order)
        _ = try trinx.certifyIndependent(counter: 0, newValue: highest, message: message)
      }
      // The process "crashes" here: writes already handed to the disk finish, nothing
      // else is written.
      reservation.waitForPendingWrites()
    }
    let restored = try #require(try writer.load())
    #expect(restored >= highest)
    #expect(restored.low <= highest.low + 16)
    var restarted = try TrInXInstance(
      id: 1, counterCount: 2, key: key, restoredCounters: [restored, .zero])
    for order in UInt64(0)...restored.low {
      #expect(throws: TrInXError.self) {
        try restarted.certifyIndependent(
          counter: 0, newValue: CounterValue(high: 0, low: order), message: message)
      }
    }
    let reservation = try CounterReservation.open(
      counter: 0, step: 16, restored: restored, writer: writer)
    #expect(try writer.load() == CounterValue(high: 0, low: restored.low + 16))
    try restarted.limitCertification(reservation.limit, store: reservation)
    let next = CounterValue(high: 0, low: restored.low + 1)
    #expect(
      try restarted.certifyIndependent(counter: 0, newValue: next, message: message).newValue
        == next)
  }

  @Test("a corrupt file refuses to start; another key's file is ignored")
  func corruptAndForeign() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let path = directory + "/replica-0.counter"
    try FileReservationWriter(path: path, instance: 0, key: key).write(
      CounterValue(high: 3, low: 9))
    #expect(
      try FileReservationWriter(path: path, instance: 0, key: key).load()
        == CounterValue(high: 3, low: 9))
    #expect(
      try FileReservationWriter(path: path, instance: 0, key: [UInt8](repeating: 6, count: 32))
        .load() == nil)
    #expect(try FileReservationWriter(path: path, instance: 1, key: key).load() == nil)
    try Array("hybster-counter-reservation 1 ab 3\n".utf8).withUnsafeBytes {
      try Data($0).write(to: URL(fileURLWithPath: path))
    }
    #expect(throws: ReservationError.self) {
      try FileReservationWriter(path: path, instance: 0, key: key).load()
    }
  }
}
