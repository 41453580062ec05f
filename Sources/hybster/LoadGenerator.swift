import ArgumentParser
import Foundation
import Histogram
import HybsterClient
import HybsterCore
import HybsterRuntime
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The load options that `bench` and `local` share.
struct LoadOptions: ParsableArguments {
  @Option(
    help: "Number of clients (`local`: fresh admitted keys; `bench`: the number of --key files).")
  var clients: Int = 8

  @Option(help: "Requests each client keeps outstanding (its lanes).")
  var outstanding: Int = 8

  @Option(help: "Operation size in bytes (zero bytes; the microbenchmark ignores content).")
  var payload: Int = 0

  @Option(help: "Measured seconds, after the warmup.")
  var duration: Double = 10

  @Option(help: "Warmup seconds before measuring; requests completing in it are not counted.")
  var warmup: Double = 1

  @Flag(help: "Print the result as one JSON object on the last line of stdout.")
  var json = false

  func validate() throws {
    guard (1...1_000_000).contains(clients) else {
      throw ValidationError("--clients must be between 1 and 1000000")
    }
    guard (1...65_536).contains(outstanding) else {
      throw ValidationError("--outstanding must be between 1 and 65536")
    }
    guard payload >= 0 else { throw ValidationError("--payload must be 0 or more") }
    guard duration > 0, duration.isFinite else {
      throw ValidationError("--duration must be a positive number of seconds")
    }
    guard warmup >= 0, warmup.isFinite else {
      throw ValidationError("--warmup must be 0 or more seconds")
    }
  }

  /// The settings of one run.
  var settings: LoadSettings {
    LoadSettings(
      clients: clients, outstanding: outstanding, payload: payload, duration: duration,
      warmup: warmup)
  }
}

/// What a closed-loop run does.
struct LoadSettings: Sendable {
  var clients: Int
  var outstanding: Int
  var payload: Int
  var duration: Double
  var warmup: Double
  /// Print ops/s once per second on stderr.
  var progress = true
}

/// A closed-loop load generator: one ``HybsterClient`` per client key with
/// `outstanding` lanes each, all on one event-loop thread. Every completion submits the
/// next request from its callback (no task per request) until the deadline; requests
/// completing in the warmup or after the deadline are not counted.
enum LoadGenerator {
  /// Runs the load against `config` and reports the measurement window. Cancelling the
  /// calling task stops the run and shuts the clients down.
  static func run(
    config: ClusterConfig, credentials: [ClientCredentials], settings: LoadSettings
  ) async throws -> BenchReport {
    var settings = settings
    settings.clients = credentials.count
    if settings.payload > config.protocolParameters.maxOperationSize {
      throw CLIError(
        "--payload \(settings.payload) exceeds the cluster's maxOperationSize "
          + "\(config.protocolParameters.maxOperationSize)")
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let clients = credentials.map {
      HybsterClient(
        config: config, credentials: $0, lanes: settings.outstanding, eventLoopGroup: group)
    }
    do {
      let report = try await measure(
        clients: clients, loop: group.next(), config: config, settings: settings)
      await shutdown(clients, group)
      return report
    } catch {
      await shutdown(clients, group)
      throw error
    }
  }

  private static func measure(
    clients: [HybsterClient], loop: any EventLoop, config: ClusterConfig, settings: LoadSettings
  ) async throws -> BenchReport {
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        for client in clients { group.addTask { try await client.connect() } }
        try await group.waitForAll()
      }
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      throw CLIError("cannot connect to the cluster: \(error)")
    }

    let operation = [UInt8](repeating: 0, count: settings.payload)
    let start = Monotonic.nanoseconds()
    let warmupEnd = start + Monotonic.nanoseconds(seconds: settings.warmup)
    let deadline = warmupEnd + Monotonic.nanoseconds(seconds: settings.duration)
    let run = ClosedLoopRun(
      warmupEnd: warmupEnd, deadline: deadline, lanes: clients.count * settings.outstanding,
      loop: loop)
    let workers = clients.map { ClosedLoopWorker(client: $0, operation: operation, run: run) }

    do {
      for worker in workers {
        for _ in 0..<settings.outstanding { worker.issue() }
      }

      // Progress once per second; exact snapshots of retransmissions at the window edges.
      var progress = settings.progress ? Progress(start: start, warmupEnd: warmupEnd) : nil
      var retransmissionsAtWarmupEnd: Int? = settings.warmup == 0 ? 0 : nil
      var nextTick = start + 1_000_000_000
      while true {
        let now = Monotonic.nanoseconds()
        if retransmissionsAtWarmupEnd == nil, now >= warmupEnd {
          retransmissionsAtWarmupEnd = clients.reduce(0) { $0 + $1.retransmissions }
        }
        if now >= deadline { break }
        if now >= nextTick {
          progress?.report(now: now, run: run)
          nextTick += 1_000_000_000
        }
        var wake = min(nextTick, deadline)
        if retransmissionsAtWarmupEnd == nil { wake = min(wake, warmupEnd) }
        try await Task.sleep(nanoseconds: wake > now ? wake - now : 0)
      }
      let retransmissions =
        clients.reduce(0) { $0 + $1.retransmissions } - (retransmissionsAtWarmupEnd ?? 0)

      // Let the lanes drain (their completions no longer count), then stop.
      let drainLimit =
        Monotonic.nanoseconds()
        + Monotonic.nanoseconds(
          seconds: max(5, 3 * Double(config.timing.clientRetransmitMilliseconds) / 1000))
      while run.activeLanes.load(ordering: .relaxed) > 0, Monotonic.nanoseconds() < drainLimit {
        try await Task.sleep(nanoseconds: 10_000_000)
      }
      let stuck = run.activeLanes.load(ordering: .relaxed)
      run.stop()
      if stuck > 0 {
        Console.note("note: \(stuck) requests were still outstanding when the clients stopped")
      }

      var histogram = ClosedLoopWorker.makeHistogram()
      var ok = 0
      var errors = 0
      var errorKinds: [String: Int] = [:]
      for worker in workers {
        worker.stats.withLock { stats in
          histogram.add(stats.latency)
          ok += stats.ok
          errors += stats.errors
          errorKinds.merge(stats.errorKinds, uniquingKeysWith: +)
        }
      }
      if !errorKinds.isEmpty {
        let kinds = errorKinds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        Console.note("errors by kind: " + kinds.joined(separator: ", "))
      }
      return BenchReport(
        latencyMicroseconds: histogram, requestsOK: ok, errors: errors,
        retransmissions: retransmissions, settings: settings)
    } catch {
      run.stop()
      throw error
    }
  }

  private static func shutdown(
    _ clients: [HybsterClient], _ group: MultiThreadedEventLoopGroup
  ) async {
    await withTaskGroup(of: Void.self) { tasks in
      for client in clients { tasks.addTask { await client.shutdown() } }
    }
    try? await group.shutdownGracefully()
  }
}

/// State shared by every lane of one run; the counters are atomics because the
/// progress reporter reads them from another thread.
final class ClosedLoopRun: Sendable {
  /// Monotonic nanoseconds at which the measurement window opens and closes.
  let warmupEnd: UInt64
  let deadline: UInt64
  /// Lanes still submitting (or waiting for their last reply).
  let activeLanes: Atomic<Int>
  /// All completions, warmup included (for the progress line).
  let completions = Atomic<Int>(0)
  /// Successful completions inside the measurement window.
  let measured = Atomic<Int>(0)
  /// Set when the run is abandoned (cancellation) or over: lanes stop submitting.
  let stopped = Atomic<Bool>(false)
  /// Where failed lanes schedule their retry.
  let loop: any EventLoop

  init(warmupEnd: UInt64, deadline: UInt64, lanes: Int, loop: any EventLoop) {
    self.warmupEnd = warmupEnd
    self.deadline = deadline
    self.activeLanes = Atomic(lanes)
    self.loop = loop
  }

  func stop() { stopped.store(true, ordering: .relaxed) }
}

/// One client's lanes: each completion records its latency and submits the next
/// request right from the callback.
final class ClosedLoopWorker: Sendable {
  /// What one client measured.
  struct Stats: Sendable {
    var latency = ClosedLoopWorker.makeHistogram()
    var ok = 0
    var errors = 0
    var errorKinds: [String: Int] = [:]
  }

  let client: HybsterClient
  let operation: [UInt8]
  let run: ClosedLoopRun
  /// Touched by the client's event loop on each completion, read once at the end.
  let stats = Mutex(Stats())

  /// Latency histogram in microseconds, up to one minute at three significant digits.
  static func makeHistogram() -> Histogram<UInt64> {
    Histogram(highestTrackableValue: maxLatencyMicroseconds, numberOfSignificantValueDigits: .three)
  }
  static let maxLatencyMicroseconds: UInt64 = 60_000_000

  /// A failed lane waits this long before it submits again, so a dead cluster does
  /// not turn the generator into a busy loop.
  private static let retryDelay = TimeAmount.milliseconds(50)

  init(client: HybsterClient, operation: [UInt8], run: ClosedLoopRun) {
    self.client = client
    self.operation = operation
    self.run = run
  }

  /// Submits one request on a free lane.
  func issue() {
    let started = Monotonic.nanoseconds()
    client.submit(operation) { [self] result in
      self.complete(result, startedAt: started)
    }
  }

  private func complete(_ result: Result<[UInt8], HybsterClientError>, startedAt started: UInt64) {
    let now = Monotonic.nanoseconds()
    let counted = now >= run.warmupEnd && now < run.deadline
    run.completions.wrappingAdd(1, ordering: .relaxed)
    switch result {
    case .success:
      if counted {
        let micros = min((now &- started) / 1000, Self.maxLatencyMicroseconds)
        stats.withLock {
          $0.latency.record(micros)
          $0.ok += 1
        }
        run.measured.wrappingAdd(1, ordering: .relaxed)
      }
    case .failure(let error):
      if counted {
        stats.withLock {
          $0.errors += 1
          $0.errorKinds[Self.kind(of: error), default: 0] += 1
        }
      }
    }

    let over = now >= run.deadline || run.stopped.load(ordering: .relaxed)
    switch result {
    case _ where over:
      run.activeLanes.wrappingSubtract(1, ordering: .relaxed)
    case .success:
      issue()
    case .failure(.shutdown):
      run.activeLanes.wrappingSubtract(1, ordering: .relaxed)
    case .failure:
      run.loop.scheduleTask(in: Self.retryDelay) { [self] in
        if Monotonic.nanoseconds() >= self.run.deadline || self.run.stopped.load(ordering: .relaxed)
        {
          self.run.activeLanes.wrappingSubtract(1, ordering: .relaxed)
        } else {
          self.issue()
        }
      }
    }
  }

  private static func kind(of error: HybsterClientError) -> String {
    switch error {
    case .timeout: "timeout"
    case .shutdown: "shutdown"
    case .connectionFailed: "connection failed"
    case .refused: "refused"
    }
  }
}

/// Prints ops/s once per second on stderr.
struct Progress {
  let start: UInt64
  let warmupEnd: UInt64
  private var lastCompletions = 0
  private var lastTime: UInt64

  init(start: UInt64, warmupEnd: UInt64) {
    self.start = start
    self.warmupEnd = warmupEnd
    self.lastTime = start
  }

  mutating func report(now: UInt64, run: ClosedLoopRun) {
    let completions = run.completions.load(ordering: .relaxed)
    let interval = Double(now - lastTime) / 1e9
    let rate = interval > 0 ? Double(completions - lastCompletions) / interval : 0
    lastCompletions = completions
    lastTime = now
    let elapsed = Double(now - start) / 1e9
    var line = String(format: "[%5.1fs] %8.0f ops/s", elapsed, rate)
    // The first tick after the warmup may come a few microseconds into the window.
    let measuredSeconds = now > warmupEnd ? Double(now - warmupEnd) / 1e9 : 0
    if measuredSeconds < 0.1 {
      line += "  (warmup)"
    } else {
      let measured = run.measured.load(ordering: .relaxed)
      line += String(format: "  %8.0f ops/s measured so far", Double(measured) / measuredSeconds)
    }
    Console.note(line)
  }
}

/// A monotonic clock in nanoseconds, cheap enough to read twice per request.
enum Monotonic {
  @inline(__always)
  static func nanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
  }

  static func nanoseconds(seconds: Double) -> UInt64 {
    UInt64((seconds * 1e9).rounded())
  }
}
