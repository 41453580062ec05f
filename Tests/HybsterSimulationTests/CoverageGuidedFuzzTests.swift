import Foundation
import Testing

/// Issue 11: a short coverage-guided run of the libFuzzer targets in `swift test`,
/// so CI runs one: `Fuzz/run` builds both targets instrumented with AddressSanitizer,
/// replays `Fuzz/regressions/`, then fuzzes each target for ``seconds`` seconds from
/// its corpus. A crash fails the test with libFuzzer's report; the input lands in
/// `Fuzz/crashes/`. Skipped, saying why, on a toolchain without libFuzzer.
///
/// The instrumented build takes minutes. The test waits for it without holding a
/// thread of Swift's cooperative pool (as many threads as cores): a first version
/// blocked one in `waitUntilExit` for the whole build, and with one of two threads
/// left the suites that time real replicas starved and failed in CI. The build
/// runs at the lowest CPU priority (`nice -n 19`), so it takes only the CPU the
/// other suites leave.
@Suite("Coverage-guided fuzzing, short run (issue 11)")
struct CoverageGuidedFuzzTests {
  /// Seconds of fuzzing per target.
  static let seconds = 10

  static let fuzzDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fuzz")

  /// libFuzzer without its `main`, next to the toolchain's `swiftc`, as `Fuzz/run`
  /// looks for it; nil on a toolchain without it.
  static var libFuzzer: String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let swiftc = path.split(separator: ":").map { "\($0)/swiftc" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let swiftc else { return nil }
    let clang = URL(fileURLWithPath: swiftc).resolvingSymlinksInPath()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("lib/clang")
    let versions = (try? FileManager.default.contentsOfDirectory(atPath: clang.path)) ?? []
    #if arch(x86_64)
      let name = "libclang_rt.fuzzer_no_main-x86_64.a"
    #else
      let name = "libclang_rt.fuzzer_no_main-aarch64.a"
    #endif
    return versions.map { clang.appendingPathComponent("\($0)/lib/linux/\(name)").path }
      .first { FileManager.default.fileExists(atPath: $0) }
  }

  @Test(
    "Fuzz/run: both libFuzzer targets build, replay their regressions and fuzz without a crash",
    .timeLimit(.minutes(20)))
  func shortRun() async throws {
    guard Self.libFuzzer != nil else {
      print("coverage-guided fuzzing skipped: this toolchain has no libclang_rt.fuzzer_no_main")
      return
    }
    let log = FileManager.default.temporaryDirectory
      .appendingPathComponent("hybster-fuzz-\(UUID().uuidString).log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: log) }
    let output = try FileHandle(forWritingTo: log)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
      "nice", "-n", "19", Self.fuzzDirectory.appendingPathComponent("run").path,
      "\(Self.seconds)", "both",
    ]
    process.standardOutput = output
    process.standardError = output
    let status: Int32 = try await withCheckedThrowingContinuation { finished in
      process.terminationHandler = { finished.resume(returning: $0.terminationStatus) }
      do { try process.run() } catch { finished.resume(throwing: error) }
    }
    try output.close()
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    let stats = text.split(separator: "\n").filter {
      $0.contains("stat::number_of_executed_units") || $0.contains("cov:") && $0.contains("DONE")
    }
    print("coverage-guided fuzzing: \(stats.joined(separator: "; "))")
    #expect(status == 0, "Fuzz/run exited with \(status):\n\(text.suffix(8000))")
  }
}
