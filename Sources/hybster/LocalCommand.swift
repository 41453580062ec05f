import ArgumentParser
import Dispatch
import Foundation
import HybsterCore
import HybsterRuntime
import Logging
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `hybster local`: the one-command benchmark. Generates a loopback cluster in a
/// temporary directory, starts its replicas as child processes (this binary
/// re-executed as `hybster replica`), runs the closed-loop load generator against them
/// in this process, prints the result, and stops every replica again — on success, on
/// errors and on Ctrl-C alike.
struct LocalCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "local",
    abstract: "Start a local cluster as child processes, benchmark it, and stop it.",
    discussion: """
      The payload size is also the microbenchmark's reply size. Replica logs go to \
      replica-<i>.log in the temporary directory, which is removed afterwards unless --keep.
      """
  )

  @Option(help: "Number of replicas, n = 2f+1.")
  var replicas: Int = 3

  @OptionGroup var load: LoadOptions

  @OptionGroup var cluster: ClusterOptions

  @Option(
    help:
      "First port (replica i: P+1 ports from base+(P+1)i, pillars then clients); default: free ports."
  )
  var basePort: Int?

  @Flag(help: "Keep the temporary directory (configuration, keys, replica logs).")
  var keep = false

  @Option(help: "Seconds to wait for every replica to accept client connections.")
  var startupTimeout: Double = 30

  @Option(help: "Log level of the replicas.")
  var logLevel: String = "info"

  @Option(
    help: """
      Crash replica 0 (the leader of view 0) with SIGKILL this many seconds into the \
      measurement, to watch the view change: the progress shows the interruption and the \
      latency maximum its length.
      """)
  var killLeaderAfter: Double?

  @Option(
    help: ArgumentHelp(
      "fsync: replicas fsync their journals before messages leave (survives a power cut); none: written, not fsync'd (survives a crashed process only).",
      valueName: "fsync|none"))
  var durability: Durability = .fsync

  /// The ports the cluster listens on.
  var portCount: Int {
    ClusterConfig.portsPerReplica(pillars: cluster.pillarCount(replicasPerHost: replicas))
      * replicas
  }

  func validate() throws {
    guard (1...255).contains(replicas) else {
      throw ValidationError("--replicas must be between 3 and 255 (n = 2f+1)")
    }
    if let basePort, !(1...(65_536 - portCount)).contains(basePort) {
      throw ValidationError("--base-port \(basePort) leaves no room for \(portCount) ports")
    }
    guard startupTimeout > 0, startupTimeout.isFinite else {
      throw ValidationError("--startup-timeout must be a positive number of seconds")
    }
    if let killLeaderAfter, !(killLeaderAfter >= 0 && killLeaderAfter < load.duration) {
      throw ValidationError("--kill-leader-after must lie within --duration")
    }
    guard Logger.Level(rawValue: logLevel) != nil else {
      throw ValidationError(
        "--log-level must be one of "
          + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
    }
  }

  func run() async throws {
    try await reportingErrors {
      bootstrapClientLogging()
      let basePort: Int
      if let explicit = self.basePort {
        let ports = explicit..<(explicit + portCount)
        if let busy = ports.first(where: { !ProcessCluster.isFree(port: $0) }) {
          throw CLIError("port \(busy) on 127.0.0.1 is in use; pick another --base-port")
        }
        basePort = explicit
      } else {
        basePort = try ProcessCluster.freeBasePort(count: portCount)
      }
      let config = ClusterConfig.loopback(
        replicaCount: replicas, basePort: basePort, host: "127.0.0.1",
        protocolParameters: cluster.protocolParameters(
          replicas: replicas, replicasPerHost: replicas),
        service: .microbenchmark(replySize: load.payload))
      try config.validate()

      let directory = try makeTemporaryDirectory()
      let keep = self.keep
      func cleanUp() {
        if keep {
          Console.note("kept \(directory)")
        } else {
          try? FileManager.default.removeItem(atPath: directory)
        }
      }
      let processes: ProcessCluster
      let keyed: ClusterConfig
      let loadClients = (0..<load.settings.clients).map { _ in ClientSecretKeys.generate() }
      do {
        keyed = try ClusterSetup.write(config, to: directory).config
        let admitted = ClientDirectoryFiles.path(
          of: keyed, configPath: ClusterSetup.configPath(in: directory))
        for (index, client) in loadClients.enumerated() {
          try ClientDirectoryFiles.admit(client.publicKeys, name: "load-\(index)", in: admitted)
        }
        processes = try ProcessCluster(executable: currentExecutablePath(), directory: directory)
      } catch {
        cleanUp()
        throw error
      }

      // Trap SIGINT/SIGTERM before the first child exists. First signal: cancel the
      // run and stop the replicas as usual; second: kill them outright and exit.
      let work = Mutex<Task<BenchReport, any Error>?>(nil)
      let trap = InterruptTrap { signal, count in
        if count == 1 {
          Console.note(
            "\nsignal \(signal): stopping the replicas (send it again to kill them at once)")
          work.withLock { $0?.cancel() }
        } else {
          processes.killNow()
          if !keep { try? FileManager.default.removeItem(atPath: directory) }
          exitProcess(130)
        }
      }

      let started = CPUSample.now()
      let run = LocalRun(
        config: keyed, clients: loadClients, directory: directory, processes: processes,
        settings: load.settings,
        logLevel: logLevel, startupTimeout: startupTimeout, durability: durability,
        killLeaderAfter: killLeaderAfter.map { load.settings.warmup + $0 })
      let task = Task { try await run.execute() }
      work.withLock { $0 = task }
      let result = await task.result

      if case .success(let report) = result { report.print(json: load.json) }
      Console.note("stopping the replicas")
      await processes.stop()
      trap.disarm()
      if case .success = result { Self.printCPU(since: started) }
      cleanUp()

      if trap.signalsReceived > 0 { throw CancellationError() }
      let report = try result.get()
      guard report.requestsOK > 0 else {
        throw CLIError("no request completed in the measurement window")
      }
    }
  }

  /// CPU time of the replicas (waited-for children) and of this process (the load
  /// generator) since `CPUSample.now()` was taken at the start of the run, including
  /// start-up and warm-up. Counted from that sample, not from process start: under
  /// `swift run` this process inherits the build's CPU time through exec.
  struct CPUSample {
    var replicas: Double
    var generator: Double
    var time: DispatchTime

    static func now() -> CPUSample {
      func seconds(_ who: Int32) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
          + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
      }
      // RUSAGE_CHILDREN and RUSAGE_SELF (-1 and 0 on Linux and Darwin alike; Glibc
      // imports them as an enum).
      return CPUSample(replicas: seconds(-1), generator: seconds(0), time: .now())
    }
  }

  private static func printCPU(since start: CPUSample) {
    let end = CPUSample.now()
    let wall = Double(end.time.uptimeNanoseconds - start.time.uptimeNanoseconds) / 1e9
    let replicas = end.replicas - start.replicas
    let generator = end.generator - start.generator
    let busy = (replicas + generator) / wall
    print(
      String(
        format:
          "  cpu         replicas %.1f s, load generator %.1f s over %.1f s wall (%.2f of %d cores busy)",
        replicas, generator, wall, busy, ProcessInfo.processInfo.activeProcessorCount))
  }

  private func makeTemporaryDirectory() throws -> String {
    var base = NSTemporaryDirectory()
    if !base.hasSuffix("/") { base += "/" }
    var template = Array((base + "hybster-local-XXXXXX").utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buffer -> String? in
      guard let result = mkdtemp(buffer.baseAddress!) else { return nil }
      return String(cString: result)
    }
    guard let path else {
      throw CLIError(
        "cannot create a temporary directory in \(base): \(String(cString: strerror(errno)))")
    }
    return path
  }
}

/// The part of `local` that the interrupt handler can cancel: start, wait, measure.
struct LocalRun: Sendable {
  let config: ClusterConfig
  /// The load generator's clients, admitted by the replicas.
  let clients: [ClientSecretKeys]
  let directory: String
  let processes: ProcessCluster
  let settings: LoadSettings
  let logLevel: String
  let startupTimeout: Double
  /// fsync or none (issue 12), passed to every replica and printed.
  let durability: Durability
  /// Seconds after the load starts at which replica 0 is crashed.
  let killLeaderAfter: Double?

  func execute() async throws -> BenchReport {
    let configPath = ClusterSetup.configPath(in: directory)
    for replica in config.replicas.indices {
      try processes.spawn(
        replica: replica,
        arguments: [
          "replica", "--config", configPath, "--id", "\(replica)", "--log-level", logLevel,
          "--durability", durability.rawValue, "--watch-parent",
        ])
    }
    let ports = config.replicas.map { "\($0.clientPort)" }.joined(separator: ", ")
    Console.note(
      "started \(config.replicas.count) replicas (client ports \(ports); logs in \(directory))")
    try await processes.waitUntilReady(config: config, timeout: startupTimeout)

    var credentials: [ClientCredentials] = []
    for client in clients { credentials.append(try config.credentials(for: client)) }
    let crash = killLeaderAfter.map { delay in
      Task { [processes] in
        try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        processes.crash(replica: 0)
        Console.note("crashed replica 0 (SIGKILL), the leader of view 0")
      }
    }
    defer { crash?.cancel() }
    do {
      var report = try await LoadGenerator.run(
        config: config, credentials: credentials, settings: settings)
      report.replicas = config.replicas.count
      report.batch = config.protocolParameters.maxBatchSize
      report.pillars = config.protocolParameters.pillarCount
      report.rotatingLeaders = config.protocolParameters.rotateLeaders
      report.durability = durability.rawValue
      report.clientAuthentication = config.protocolParameters.clientAuthentication.rawValue
      return report
    } catch let error as CancellationError {
      throw error
    } catch {
      throw CLIError("\(error)\n\(processes.allLogTails())")
    }
  }
}

/// Traps SIGINT and SIGTERM (instead of dying with the default action) and reports
/// each one with a running count, on a private queue. ``disarm()`` restores the defaults.
final class InterruptTrap {
  private final class Counter: Sendable {
    let value = Atomic<Int>(0)
  }

  private let counter = Counter()
  private var sources: [any DispatchSourceSignal] = []
  private let queue = DispatchQueue(label: "hybster.local.signals")

  /// Installs the trap; `handler` gets the signal and how many signals came so far.
  init(_ handler: @escaping @Sendable (_ signal: Int32, _ count: Int) -> Void) {
    let counter = self.counter
    for number in [SIGINT, SIGTERM] {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
      source.setEventHandler {
        let count = counter.value.wrappingAdd(1, ordering: .relaxed).newValue
        handler(number, count)
      }
      source.resume()
      sources.append(source)
    }
  }

  /// The number of signals trapped so far.
  var signalsReceived: Int { counter.value.load(ordering: .relaxed) }

  /// Stops trapping; the signals kill the process again.
  func disarm() {
    for source in sources { source.cancel() }
    sources = []
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
  }
}
