import Foundation
import HybsterRuntime
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The replica processes of `hybster local`: this same binary re-executed as
/// `hybster replica`, one process per replica, stdout and stderr in
/// `<directory>/replica-<i>.log`.
///
/// Every child's stdin is the read end of a "lifeline" pipe whose write end only this
/// process holds (close-on-exec); the replicas run with `--watch-parent` and shut down
/// when it reaches end-of-file, so they die with this process even if it is killed.
/// Children are reaped here with `waitpid`; nothing else in the process may reap them.
final class ProcessCluster: Sendable {
  /// One spawned replica.
  struct Child: Sendable {
    let replica: Int
    let pid: pid_t
    let logPath: String
  }

  private struct State {
    var children: [Child] = []
    /// Wait status of every reaped child, by replica.
    var exited: [Int: Int32] = [:]
    var lifelineWrite: Int32
    var lifelineRead: Int32
  }

  /// The executable that is re-executed.
  let executable: String
  /// Where the logs go.
  let directory: String
  private let state: Mutex<State>

  /// Creates the lifeline pipe; spawns nothing yet.
  init(executable: String, directory: String) throws {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else {
      throw CLIError("cannot create a pipe: \(String(cString: strerror(errno)))")
    }
    // Move both ends to close-on-exec descriptors of 3 or more: the read end must not
    // be fd 0 (then dup2 onto the child's stdin would keep close-on-exec), and only the
    // dup2'ed stdin may reach a child. No other thread spawns processes meanwhile.
    let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 3)
    let write = fcntl(fds[1], F_DUPFD_CLOEXEC, 3)
    close(fds[0])
    close(fds[1])
    guard read >= 0, write >= 0 else {
      if read >= 0 { close(read) }
      if write >= 0 { close(write) }
      throw CLIError("cannot set up the lifeline pipe: \(String(cString: strerror(errno)))")
    }
    self.executable = executable
    self.directory = directory
    self.state = Mutex(State(lifelineWrite: write, lifelineRead: read))
  }

  deinit {
    state.withLock { state in
      if state.lifelineRead >= 0 { close(state.lifelineRead) }
      if state.lifelineWrite >= 0 { close(state.lifelineWrite) }
    }
  }

  /// The log file of `replica`.
  func logPath(of replica: Int) -> String { directory + "/replica-\(replica).log" }

  /// Starts `hybster <arguments>` for `replica`, with signals at their defaults.
  func spawn(replica: Int, arguments: [String]) throws {
    let logPath = logPath(of: replica)
    try state.withLock { state in
      var fileActions = Self.makeFileActions()
      defer { posix_spawn_file_actions_destroy(&fileActions) }
      posix_spawn_file_actions_adddup2(&fileActions, state.lifelineRead, 0)
      posix_spawn_file_actions_addopen(
        &fileActions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
      posix_spawn_file_actions_adddup2(&fileActions, 1, 2)

      // This process ignores SIGINT/SIGTERM while it supervises; ignored dispositions
      // and blocked signals would be inherited, so reset both for the child.
      var attributes = Self.makeAttributes()
      defer { posix_spawnattr_destroy(&attributes) }
      var defaults = sigset_t()
      sigemptyset(&defaults)
      for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
      posix_spawnattr_setsigdefault(&attributes, &defaults)
      var mask = sigset_t()
      sigemptyset(&mask)
      posix_spawnattr_setsigmask(&attributes, &mask)
      posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

      let argv = ([executable] + arguments).map { strdup($0) } + [nil]
      defer { argv.forEach { free($0) } }
      let environment =
        ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
      defer { environment.forEach { free($0) } }

      var pid: pid_t = 0
      let status = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environment)
      guard status == 0 else {
        throw CLIError(
          "cannot start replica \(replica) (\(executable)): \(String(cString: strerror(status)))")
      }
      state.children.append(Child(replica: replica, pid: pid, logPath: logPath))
    }
  }

  /// Waits until every replica accepts TCP connections on its client port. Fails early
  /// when a replica exits, and after `timeout` seconds; the error carries the logs' tails.
  func waitUntilReady(config: ClusterConfig, timeout: Double) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    var pending = Set(config.replicas.indices)
    while true {
      reap()
      let exited = state.withLock { $0.exited }
      if let (replica, status) = exited.min(by: { $0.key < $1.key }) {
        throw CLIError(
          "replica \(replica) exited during startup (\(Self.describe(status: status)))\n"
            + logTail(of: replica))
      }
      for replica in pending {
        let address = config.replicas[replica]
        if Self.acceptsConnections(host: address.host, port: address.clientPort) {
          pending.remove(replica)
        }
      }
      if pending.isEmpty { return }
      if Date() >= deadline {
        let waiting = pending.sorted()
        throw CLIError(
          "replica(s) \(waiting.map(String.init).joined(separator: ", ")) did not accept client "
            + "connections within \(timeout) s\n"
            + waiting.map { logTail(of: $0) }.joined(separator: "\n"))
      }
      try await Task.sleep(nanoseconds: 100_000_000)
    }
  }

  /// Stops every replica: SIGTERM, then SIGKILL for those still running after `grace`
  /// seconds; returns once all are reaped. Reports unexpected exits on stderr.
  func stop(grace: Double = 5) async {
    for child in running() { kill(child.pid, SIGTERM) }
    let deadline = Date().addingTimeInterval(grace)
    while !running().isEmpty, Date() < deadline {
      try? await Task.sleep(nanoseconds: 50_000_000)  // keeps stopping even if cancelled
      reap()
    }
    let stubborn = running()
    for child in stubborn {
      Console.note("replica \(child.replica) did not stop within \(grace) s; sending SIGKILL")
      kill(child.pid, SIGKILL)
    }
    while !running().isEmpty {
      reap(blocking: true)
    }
    closeLifeline()
    let exited = state.withLock { $0.exited }
    for (replica, status) in exited.sorted(by: { $0.key < $1.key })
    where !Self.isCleanStop(status) && !stubborn.contains(where: { $0.replica == replica }) {
      Console.note(
        "replica \(replica) ended with \(Self.describe(status: status))"
      )
    }
  }

  /// Kills one replica with SIGKILL, as a crash would (`local --kill-leader-after`).
  func crash(replica: Int) {
    for child in running() where child.replica == replica { kill(child.pid, SIGKILL) }
  }

  /// Kills every replica at once and reaps it (second Ctrl-C). Safe from any thread.
  func killNow() {
    for child in running() { kill(child.pid, SIGKILL) }
    while !running().isEmpty { reap(blocking: true) }
    closeLifeline()
  }

  /// The last `lines` lines of `replica`'s log, indented, with a heading.
  func logTail(of replica: Int, lines: Int = 20) -> String {
    let path = logPath(of: replica)
    guard let data = FileManager.default.contents(atPath: path) else {
      return "  (no log at \(path))"
    }
    let all = String(decoding: data, as: UTF8.self).split(
      separator: "\n", omittingEmptySubsequences: false)
    let tail = all.suffix(lines + 1).joined(separator: "\n").trimmingCharacters(
      in: .whitespacesAndNewlines)
    let body =
      tail.isEmpty
      ? "  (empty)"
      : tail.split(separator: "\n").map { "  | " + $0 }
        .joined(separator: "\n")
    return "--- last lines of \(path):\n\(body)"
  }

  /// The log tails of every replica.
  func allLogTails(lines: Int = 15) -> String {
    state.withLock { $0.children.map(\.replica) }.map { logTail(of: $0, lines: lines) }
      .joined(separator: "\n")
  }

  // MARK: - Processes

  private func running() -> [Child] {
    state.withLock { state in state.children.filter { state.exited[$0.replica] == nil } }
  }

  /// Collects the status of children that have exited.
  private func reap(blocking: Bool = false) {
    for child in running() {
      var status: Int32 = 0
      let result = waitpid(child.pid, &status, blocking ? 0 : WNOHANG)
      if result == child.pid {
        state.withLock { $0.exited[child.replica] = status }
      } else if result < 0, errno != EINTR {
        // ECHILD: already reaped elsewhere; treat as gone.
        state.withLock { $0.exited[child.replica] = 0 }
      }
    }
  }

  private func closeLifeline() {
    state.withLock { state in
      if state.lifelineWrite >= 0 {
        close(state.lifelineWrite)
        state.lifelineWrite = -1
      }
    }
  }

  private static func isCleanStop(_ status: Int32) -> Bool {
    let signal = status & 0x7f
    if signal == 0 { return (status >> 8) & 0xff == 0 }
    return signal == SIGTERM || signal == SIGINT
  }

  private static func describe(status: Int32) -> String {
    let signal = status & 0x7f
    if signal == 0 { return "exit status \((status >> 8) & 0xff)" }
    return "signal \(signal)"
  }

  #if canImport(Darwin)
    private static func makeFileActions() -> posix_spawn_file_actions_t? {
      var actions: posix_spawn_file_actions_t? = nil
      posix_spawn_file_actions_init(&actions)
      return actions
    }
    private static func makeAttributes() -> posix_spawnattr_t? {
      var attributes: posix_spawnattr_t? = nil
      posix_spawnattr_init(&attributes)
      return attributes
    }
  #else
    private static func makeFileActions() -> posix_spawn_file_actions_t {
      var actions = posix_spawn_file_actions_t()
      posix_spawn_file_actions_init(&actions)
      return actions
    }
    private static func makeAttributes() -> posix_spawnattr_t {
      var attributes = posix_spawnattr_t()
      posix_spawnattr_init(&attributes)
      return attributes
    }
  #endif

  // MARK: - Sockets

  /// Whether `host:port` (an IPv4 literal) accepts a TCP connection now.
  static func acceptsConnections(host: String, port: Int) -> Bool {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
    let ipv4 = host == "localhost" ? "127.0.0.1" : host
    guard inet_pton(AF_INET, ipv4, &address.sin_addr) == 1 else { return false }
    let fd = socket(AF_INET, streamSocketType, 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// Whether `port` on 127.0.0.1 can be bound now.
  static func isFree(port: Int) -> Bool {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
    address.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
    let fd = socket(AF_INET, streamSocketType, 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  /// A base port whose `count` consecutive ports are free on 127.0.0.1. Chosen at random
  /// in 20000..<32000, below Linux's ephemeral range, so outgoing connections of the
  /// replicas and clients cannot take a port before its replica binds it.
  static func freeBasePort(count: Int) throws -> Int {
    for _ in 0..<100 {
      let base = Int.random(in: 20_000..<(32_000 - count))
      if (base..<(base + count)).allSatisfy(isFree(port:)) { return base }
    }
    throw CLIError("found no \(count) consecutive free ports in 20000..<32000; pass --base-port")
  }

  private static var streamSocketType: Int32 {
    #if canImport(Glibc)
      Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    #else
      SOCK_STREAM
    #endif
  }
}

/// The path of the running executable, for re-executing it.
func currentExecutablePath() -> String {
  if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
    FileManager.default.isExecutableFile(atPath: path)
  {
    return path
  }
  if let path = Bundle.main.executablePath { return path }
  return Paths.absolute(CommandLine.arguments[0])
}

/// Ends the process at once with `code` (the C library's `exit`).
func exitProcess(_ code: Int32) -> Never {
  exit(code)
}
