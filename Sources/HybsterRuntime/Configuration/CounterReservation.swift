import Crypto
import Dispatch
import Foundation
import HybsterCore
import Synchronization
import TrInX

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why a counter reservation could not be read or written.
public enum ReservationError: Error, Hashable, Sendable, CustomStringConvertible {
  /// A system call on `path` failed.
  case io(path: String, operation: String, errno: Int32)
  /// The file exists but is not a reservation this code wrote.
  case corrupt(path: String, reason: String)

  public var description: String {
    switch self {
    case .io(let path, let operation, let code):
      "\(operation) \(path) failed: \(String(cString: strerror(code)))"
    case .corrupt(let path, let reason): "\(path) is not a counter reservation: \(reason)"
    }
  }
}

/// Durably stores one counter reservation; the part of ``CounterReservation`` that
/// touches the disk (replaceable in tests).
public protocol ReservationWriter: Sendable {
  /// Makes `value` the durable reservation; returns only once it survives a crash.
  func write(_ value: CounterValue) throws
}

/// The reservation file of one replica's ordering counter (§5.1: a restarted TrInX
/// must not be rolled back). One line of text:
///
///     hybster-counter-reservation 1 <fingerprint> <high> <low>
///
/// where the fingerprint binds the file to the TrInX instance id and group key (a
/// file left over from other keys is ignored: certificates under other keys are
/// harmless). Written as a new file, fsync'd, renamed over the old one, and the
/// directory fsync'd, so a crash leaves either the old or the new reservation.
public struct FileReservationWriter: ReservationWriter {
  /// The file.
  public let path: String
  /// Identifies the TrInX instance and key the reservation belongs to.
  public let fingerprint: String

  static let magic = "hybster-counter-reservation"

  /// Creates a writer for `path`, bound to `instance` and `key`.
  public init(path: String, instance: TrInXInstanceID, key: [UInt8]) {
    self.path = path
    var hash = SHA256()
    hash.update(data: Array("hybster-trinx-reservation".utf8))
    hash.update(data: withUnsafeBytes(of: instance.bigEndian) { Array($0) })
    hash.update(data: key)
    self.fingerprint = Hex.encode(Array(hash.finalize().prefix(16)))
  }

  /// The stored reservation, `nil` if there is none for this instance and key.
  /// - Throws: ``ReservationError/corrupt(path:reason:)`` for a file that exists but
  ///   cannot be parsed: starting at zero then could repeat certified values.
  public func load() throws(ReservationError) -> CounterValue? {
    guard let data = FileManager.default.contents(atPath: path) else {
      if FileManager.default.fileExists(atPath: path) {
        throw .io(path: path, operation: "read", errno: EACCES)
      }
      return nil
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw .corrupt(path: path, reason: "not UTF-8")
    }
    let fields = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard fields.count == 2, fields[1].isEmpty else {
      throw .corrupt(path: path, reason: "expected one line")
    }
    let parts = fields[0].split(separator: " ")
    guard parts.count == 5, parts[0] == Self.magic, parts[1] == "1",
      let high = UInt64(parts[3]), let low = UInt64(parts[4])
    else { throw .corrupt(path: path, reason: "expected '\(Self.magic) 1 <fp> <high> <low>'") }
    guard parts[2] == fingerprint else { return nil }
    return CounterValue(high: high, low: low)
  }

  public func write(_ value: CounterValue) throws {
    let line = "\(Self.magic) 1 \(fingerprint) \(value.high) \(value.low)\n"
    try Self.writeDurably(Array(line.utf8), to: path)
  }

  /// Writes a temporary file, fsyncs it, renames it over `path` and fsyncs the
  /// directory.
  static func writeDurably(_ bytes: [UInt8], to path: String) throws(ReservationError) {
    // A name of its own per write: two writers of one path never share a temporary.
    let temporary = path + ".tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw .io(path: temporary, operation: "open", errno: errno) }
    var written = 0
    while written < bytes.count {
      let result = bytes.withUnsafeBytes {
        Foundation.write(fd, $0.baseAddress! + written, bytes.count - written)
      }
      if result < 0 {
        if errno == EINTR { continue }
        let code = errno
        close(fd)
        throw .io(path: temporary, operation: "write", errno: code)
      }
      written += result
    }
    guard fsync(fd) == 0 else {
      let code = errno
      close(fd)
      throw .io(path: temporary, operation: "fsync", errno: code)
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
      throw .io(path: path, operation: "rename", errno: errno)
    }
    let directory = (path as NSString).deletingLastPathComponent
    let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
    guard dirFD >= 0 else { throw .io(path: directory, operation: "open", errno: errno) }
    defer { close(dirFD) }
    guard fsync(dirFD) == 0 else { throw .io(path: directory, operation: "fsync", errno: errno) }
  }
}

/// Reservations for one trusted counter (§5.1 "prevent undetected replay"): the
/// ``TrInX/CertificationLimitStore`` a replica's TrInX instance consults before its
/// ordering counter passes a durable bound.
///
/// A reservation for a counter value `[h|l]` is `[h|l+step]`. When a certified value
/// comes within `step/2` of the durable reservation, the next one is written on a
/// background queue, so the certify path normally finds it durable when it crosses
/// the old one and never waits for the disk; it waits only if the disk lags that
/// far behind, or when the view (high part) changes and `[newView|step]` must be
/// reserved first. On restart, the instance is restored to the stored reservation:
/// it can only certify values above anything its previous incarnation could have.
public final class CounterReservation: CertificationLimitStore {
  /// The counter reserved.
  public let counter: TrInXCounterID
  /// How far beyond a certified value a reservation reaches.
  public let step: UInt64
  private let writer: any ReservationWriter
  private let queue = DispatchQueue(label: "hybster.counter-reservation")
  private struct State {
    var durable: CounterValue
    var preparing: CounterValue?
    var failures = 0
  }
  private let state: Mutex<State>

  /// Creates a store whose reservation `durable` is already stored by `writer`.
  /// - Precondition: `step >= 2`.
  public init(
    counter: TrInXCounterID, step: UInt64, durable: CounterValue, writer: any ReservationWriter
  ) {
    precondition(step >= 2, "a reservation step must be at least 2")
    self.counter = counter
    self.step = step
    self.writer = writer
    self.state = Mutex(State(durable: durable))
  }

  /// Opens a reservation at startup: stores the first reservation beyond
  /// `restored` (or beyond zero for a fresh replica) before anything is certified.
  /// Returns the store; restore the counter to `restored ?? .zero` and limit it
  /// with ``limit``.
  public static func open(
    counter: TrInXCounterID, step: UInt64, restored: CounterValue?, writer: any ReservationWriter
  ) throws -> CounterReservation {
    let first = Self.next(after: restored ?? .zero, step: step)
    try writer.write(first)
    return CounterReservation(counter: counter, step: step, durable: first, writer: writer)
  }

  /// Returns once every background write started so far has finished.
  public func waitForPendingWrites() { queue.sync {} }

  /// The durable reservation now.
  public var durable: CounterValue { state.withLock { $0.durable } }

  /// Background writes that failed (each is retried by the next crossing).
  public var failures: Int { state.withLock { $0.failures } }

  /// The limit to install in the TrInX instance for the current reservation.
  public var limit: CertificationLimit { limit(for: durable) }

  static func next(after value: CounterValue, step: UInt64) -> CounterValue {
    let (low, overflow) = value.low.addingReportingOverflow(step)
    return CounterValue(high: value.high, low: overflow ? .max : low)
  }

  private func limit(for durable: CounterValue) -> CertificationLimit {
    let headroom = step / 2
    return CertificationLimit(
      counter: counter, limit: durable,
      prepareAbove: CounterValue(
        high: durable.high, low: durable.low >= headroom ? durable.low - headroom : 0))
  }

  public func prepare(beyond value: CounterValue) {
    let target = Self.next(after: value, step: step)
    let start = state.withLock { state -> Bool in
      if state.durable >= target { return false }
      if let preparing = state.preparing, preparing >= target { return false }
      state.preparing = target
      return true
    }
    guard start else { return }
    queue.async { [self] in
      if state.withLock({ $0.durable >= target }) { return }
      do {
        try writer.write(target)
        state.withLock {
          if target > $0.durable { $0.durable = target }
          if $0.preparing == target { $0.preparing = nil }
        }
      } catch {
        state.withLock {
          $0.failures += 1
          if $0.preparing == target { $0.preparing = nil }
        }
      }
    }
  }

  public func reserve(atLeast value: CounterValue) throws -> CertificationLimit {
    let current = state.withLock { $0.durable }
    if current >= value { return limit(for: current) }
    // Behind the background queue, so a write already under way is waited for.
    return try queue.sync {
      let durable = state.withLock { $0.durable }
      if durable >= value { return limit(for: durable) }
      let target = Self.next(after: value, step: step)
      try writer.write(target)
      state.withLock { if target > $0.durable { $0.durable = target } }
      return limit(for: target)
    }
  }
}
