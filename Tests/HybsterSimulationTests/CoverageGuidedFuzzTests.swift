import Foundation
import Testing

/// Issue 11: a short coverage-guided run of the libFuzzer targets in `swift test`,
/// so CI runs one: `Fuzz/run` builds both targets instrumented with AddressSanitizer
/// (several minutes of CPU on two cores, alongside the other suites), replays
/// `Fuzz/regressions/`, then fuzzes each target for ``seconds`` seconds from its
/// corpus. A crash fails the test with libFuzzer's report; the input lands in
/// `Fuzz/crashes/`. Skipped, saying why, on a toolchain without libFuzzer.
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
  func shortRun() throws {
    guard Self.libFuzzer != nil else {
      print("coverage-guided fuzzing skipped: this toolchain has no libclang_rt.fuzzer_no_main")
      return
    }
    let process = Process()
    process.executableURL = Self.fuzzDirectory.appendingPathComponent("run")
    process.arguments = ["\(Self.seconds)", "both"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let stats = text.split(separator: "\n").filter {
      $0.contains("stat::number_of_executed_units") || $0.contains("cov:") && $0.contains("DONE")
    }
    print("coverage-guided fuzzing: \(stats.joined(separator: "; "))")
    #expect(
      process.terminationStatus == 0,
      "Fuzz/run exited with \(process.terminationStatus):\n\(text.suffix(8000))")
  }
}
