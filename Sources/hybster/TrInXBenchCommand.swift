import ArgumentParser
import Crypto
import Foundation
import Synchronization
import TrInX

/// Reproduces Figure 5a of the paper (§6.1): certifications per second of 32-byte
/// messages on 1…N threads for
/// - `trinx`: one ``TrInXInstance`` per thread (the default deployment for pillars),
///   independent certificates on a steadily increasing counter;
/// - `multi_trinx`: one shared ``MultiTrInX`` hosting one instance per thread;
/// - `plain_hmac`: plain HMAC-SHA256 of the same 32 bytes with swift-crypto (key set up
///   once, `HMAC<SHA256>` state copied per message), the insecure library baseline;
/// - `raw_hmac`: the same HMAC composed from swift-crypto's `SHA256` states the way
///   TrInX's own MAC code does it, i.e. TrInX minus header and counter logic.
///
/// Every point runs real OS threads released together by a start barrier. Variants
/// are interleaved and each point is the best of `--rounds` runs, so that a burst of
/// load from elsewhere on the machine does not favour one variant. This is a
/// benchmark, not a test: numbers depend on the machine.
struct TrInXBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trinx-bench",
    abstract: "Certifications/s of 32-byte messages for TrInX, Multi-TrInX and plain HMAC "
      + "(Figure 5a, §6.1)."
  )

  @Option(help: "Highest thread count measured (1…N).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "Seconds measured per point.")
  var seconds: Double = 1

  @Option(help: "Runs per point; the best is reported.")
  var rounds: Int = 3

  @Flag(help: "Also print one JSON object with all results on the last line.")
  var json = false

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
  }

  func run() throws {
    let key = (0..<32).map { UInt8($0) }
    let message = (0..<32).map { UInt8(0xA0 &+ $0) }
    let variants = ["trinx", "multi_trinx", "plain_hmac", "raw_hmac"]
    var results: [String: [Int: Double]] = [:]

    print(
      "threads  "
        + variants.map { $0.padding(toLength: 14, withPad: " ", startingAt: 0) }
        .joined())
    for count in 1...threads {
      var best = Array(repeating: 0.0, count: variants.count)
      for _ in 0..<rounds {
        for (index, variant) in variants.enumerated() {
          let workers = try makeWorkers(
            variant: variant, threads: count, key: key, message: message)
          best[index] = max(best[index], BenchRun.measure(workers: workers, seconds: seconds))
        }
      }
      for (index, variant) in variants.enumerated() {
        results[variant, default: [:]][count] = best[index]
      }
      let row = best
      print(
        String(count).padding(toLength: 9, withPad: " ", startingAt: 0)
          + row.map { String(format: "%-14.0f", $0) }.joined())
    }
    let ratio = results["trinx"]![1]! / results["plain_hmac"]![1]!
    let rawRatio = results["trinx"]![1]! / results["raw_hmac"]![1]!
    print(String(format: "one-thread TrInX / plain HMAC: %.3f", ratio))
    print(String(format: "one-thread TrInX / raw HMAC:   %.3f", rawRatio))

    if json {
      var object: [String: Any] = [:]
      var perVariant: [String: [String: Double]] = [:]
      for (variant, points) in results {
        perVariant[variant] = Dictionary(
          uniqueKeysWithValues: points.map { (String($0.key), $0.value.rounded()) })
      }
      object["certify_ops_s"] = perVariant
      object["ratio_trinx_vs_plain_1thread"] = (ratio * 1000).rounded() / 1000
      object["ratio_trinx_vs_raw_hmac_1thread"] = (rawRatio * 1000).rounded() / 1000
      object["rounds"] = rounds
      object["message_bytes"] = message.count
      object["seconds_per_point"] = seconds
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      print(String(decoding: data, as: UTF8.self))
    }
  }

  /// One closure per thread; each runs `batch` certifications and returns a checksum
  /// of the tags so the work cannot be optimised away.
  private func makeWorkers(
    variant: String, threads: Int, key: [UInt8], message: [UInt8]
  ) throws -> [BenchRun.Worker] {
    switch variant {
    case "trinx":
      return try (0..<threads).map { index in
        let box = InstanceBox(
          try TrInXInstance(id: TrInXInstanceID(index), counterCount: 1, key: key))
        return { batch in box.certify(batch, message: message) }
      }
    case "multi_trinx":
      let multi = try MultiTrInX(
        ids: (0..<threads).map { TrInXInstanceID($0) }, counterCount: 1, key: key)
      return (0..<threads).map { index in
        let next = CounterBox()
        return { batch in
          var sink: UInt8 = 0
          for _ in 0..<batch {
            let value = next.advance()
            let certificate = try! multi.certifyIndependent(
              instance: TrInXInstanceID(index), counter: 0, newValue: value, message: message)
            sink ^= certificate.mac.withUnsafeBytes { $0[0] }
          }
          return sink
        }
      }
    case "raw_hmac":
      let box = RawHMACBox(key: key)
      return (0..<threads).map { _ in
        { batch in box.authenticate(batch, message: message) }
      }
    default:
      let template = HMAC<SHA256>(key: SymmetricKey(data: key))
      let box = HMACBox(template)
      return (0..<threads).map { _ in
        { batch in box.authenticate(batch, message: message) }
      }
    }
  }
}

/// Thread-confined state of one `trinx` worker (only its own thread touches it).
private final class InstanceBox: @unchecked Sendable {
  var instance: TrInXInstance
  var low: UInt64 = 0

  init(_ instance: TrInXInstance) { self.instance = instance }

  func certify(_ batch: Int, message: [UInt8]) -> UInt8 {
    var sink: UInt8 = 0
    for _ in 0..<batch {
      low &+= 1
      let certificate = try! instance.certifyIndependent(
        counter: 0, newValue: CounterValue(high: 0, low: low), message: message)
      sink ^= certificate.mac.withUnsafeBytes { $0[0] }
    }
    return sink
  }
}

/// Thread-confined next counter value of one `multi_trinx` worker.
private final class CounterBox: @unchecked Sendable {
  var low: UInt64 = 0

  func advance() -> CounterValue {
    low &+= 1
    return CounterValue(high: 0, low: low)
  }
}

/// The keyed HMAC state shared read-only by `plain_hmac` workers; each message works
/// on a copy, like TrInX does.
private final class HMACBox: @unchecked Sendable {
  let template: HMAC<SHA256>

  init(_ template: HMAC<SHA256>) { self.template = template }

  func authenticate(_ batch: Int, message: [UInt8]) -> UInt8 {
    var sink: UInt8 = 0
    for _ in 0..<batch {
      var hmac = template
      message.withUnsafeBytes { hmac.update(data: $0) }
      let tag = hmac.finalize()
      sink ^= tag.withUnsafeBytes { $0[0] }
    }
    return sink
  }
}

/// RFC 2104 over swift-crypto `SHA256` states keyed once, as TrInX's KeyedHMAC does.
private final class RawHMACBox: @unchecked Sendable {
  let inner: SHA256
  let outer: SHA256

  init(key: [UInt8]) {
    var inner = SHA256()
    var outer = SHA256()
    let padded = key + Array(repeating: 0, count: 64 - key.count)
    inner.update(data: padded.map { $0 ^ 0x36 })
    outer.update(data: padded.map { $0 ^ 0x5c })
    self.inner = inner
    self.outer = outer
  }

  func authenticate(_ batch: Int, message: [UInt8]) -> UInt8 {
    var sink: UInt8 = 0
    for _ in 0..<batch {
      var hasher = inner
      message.withUnsafeBytes { hasher.update(bufferPointer: $0) }
      let innerDigest = hasher.finalize()
      var outerHasher = outer
      innerDigest.withUnsafeBytes { outerHasher.update(bufferPointer: $0) }
      sink ^= outerHasher.finalize().withUnsafeBytes { $0[0] }
    }
    return sink
  }
}

/// Runs workers on OS threads released together, for a fixed wall-clock time.
private enum BenchRun {
  typealias Worker = @Sendable (_ batch: Int) -> UInt8

  /// Operations between two looks at the stop flag.
  static let batch = 256

  static func measure(workers: [Worker], seconds: Double) -> Double {
    let ready = Atomic<Int>(0)
    let go = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let totals = Mutex<(ops: Int, sink: UInt8, finished: Int)>((0, 0, 0))
    let done = DispatchSemaphore(value: 0)

    for worker in workers {
      let thread = Thread {
        ready.add(1, ordering: .releasing)
        while !go.load(ordering: .acquiring) {}
        var ops = 0
        var sink: UInt8 = 0
        while !stop.load(ordering: .relaxed) {
          sink ^= worker(batch)
          ops += batch
        }
        totals.withLock {
          $0.ops += ops
          $0.sink ^= sink
          $0.finished += 1
        }
        done.signal()
      }
      thread.start()
    }
    while ready.load(ordering: .acquiring) < workers.count { Thread.sleep(forTimeInterval: 0.001) }
    let start = DispatchTime.now().uptimeNanoseconds
    go.store(true, ordering: .releasing)
    Thread.sleep(forTimeInterval: seconds)
    stop.store(true, ordering: .relaxed)
    for _ in workers { done.wait() }
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let ops = totals.withLock { $0.ops }
    return Double(ops) / elapsed
  }
}
