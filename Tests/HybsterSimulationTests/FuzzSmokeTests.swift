import Foundation
import HybsterFuzzing
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Issue 11: the fuzz harnesses of `Fuzz/` (libFuzzer) in plain `swift test`, without
/// the fuzzer runtime. The seed corpus and every saved crash in `Fuzz/regressions/`
/// are replayed through the real harnesses (``DecoderHarness``, ``ReplicaHarness``);
/// then a short seeded mutation fuzz runs through each (``InputMutator``: byte flips,
/// inserts, deletes, splices of corpus frames, fields set to boundary values), every
/// 8- and 4-byte field of a seed frame of each type is set to every boundary value,
/// and the seed messages are certified around boundary numbers. A broken invariant
/// fails with the seed and the input in hex; a trap ends the test process, after
/// ``FuzzCrashReport`` has printed both to stderr. Such an input, saved with
/// `xxd -r -p` as a file in `Fuzz/regressions/<target>/`, is replayed from then on.
///
/// `HYBSTER_FUZZ_SEED` (hex) and `HYBSTER_FUZZ_EXECUTIONS` override the seed and the
/// number of mutated inputs per harness, for other or longer runs than CI's.
@Suite("Fuzz smoke: the fuzz harnesses, their corpus and regressions (issue 11)", .serialized)
struct FuzzSmokeTests {
  /// The mutation fuzz's seed: fixed, so that CI runs the same inputs every time.
  static let seed: UInt64 =
    ProcessInfo.processInfo.environment["HYBSTER_FUZZ_SEED"].flatMap {
      UInt64($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16)
    } ?? 0x11_F022
  /// Mutated inputs per harness.
  static let executions =
    ProcessInfo.processInfo.environment["HYBSTER_FUZZ_EXECUTIONS"].flatMap { Int($0) } ?? 30_000
  /// Mutated inputs that one replica handles before the next starts fresh: enough
  /// for state to carry over from input to input as in `FuzzReplica`, few enough
  /// that a crash report can list every input since the replica was fresh.
  static let inputsPerReplica = 32

  static let repository = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The saved crash inputs of `target` ("decoder" or "replica"), by file name.
  static func regressions(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
    let directory = repository.appendingPathComponent("Fuzz/regressions/\(target)")
    guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { !$0.hasPrefix(".") }.sorted()
      .map { ($0, [UInt8](try Data(contentsOf: directory.appendingPathComponent($0)))) }
  }

  /// What mutations start from: the seed corpus, the same messages certified around
  /// the protocol's number limit 2^56, and every saved crash.
  static func pool() throws -> [[UInt8]] {
    var numbers = SeedCorpus.Numbers()
    numbers.view = 1 << 56
    numbers.order = 1 << 56
    numbers.checkpointOrder = 1 << 56
    numbers.nextDelivery = 1 << 56
    numbers.sequence = 1 << 56
    numbers.stateOrder = 1 << 56
    return SeedCorpus.inputs().map(\.bytes) + SeedCorpus.inputs(numbers).map(\.bytes)
      + (try regressions("decoder") + regressions("replica")).map(\.bytes)
  }

  static let seedText = "HYBSTER_FUZZ_SEED=\(String(seed, radix: 16))"

  static func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  @Test("the seed corpus: ten inputs of whole frames, all through both harnesses")
  func seedCorpus() {
    let inputs = SeedCorpus.inputs()
    #expect(
      inputs.map(\.name) == [
        "checkpoint", "commit", "forwarded", "hello", "ordering", "prepare", "request",
        "state-request", "status", "view-change",
      ])
    var replica = ReplicaHarness()
    for (name, bytes) in inputs {
      let (frames, rest) = InputMutator.frames(of: bytes)
      #expect(!frames.isEmpty && rest.isEmpty, "\(name)")
      #expect(DecoderHarness.run(bytes) == nil, "\(name): \(Self.hex(bytes))")
      #expect(replica.run(bytes) == nil, "\(name): \(Self.hex(bytes))")
    }
  }

  @Test("every input in Fuzz/regressions passes both harnesses, alone and in a row")
  func regressions() throws {
    let saved = try ["decoder", "replica"].flatMap { target in
      try Self.regressions(target).map { ("\(target)/\($0.name)", $0.bytes) }
    }
    // The two keyless traps of issue 11 at least: a wrong path must not pass unseen.
    #expect(saved.count >= 2, "no inputs in \(Self.repository.path)/Fuzz/regressions")
    for (name, bytes) in saved {
      FuzzCrashReport.begin("Fuzz/regressions/\(name)", seed: nil)
      defer { FuzzCrashReport.end() }
      FuzzCrashReport.record(bytes, fresh: true)
      #expect(DecoderHarness.run(bytes) == nil, "\(name): \(Self.hex(bytes))")
      var alone = ReplicaHarness()
      #expect(alone.run(bytes) == nil, "\(name): \(Self.hex(bytes))")
    }
    // As `Fuzz/run` replays them: one replica for all.
    FuzzCrashReport.begin("Fuzz/regressions in a row", seed: nil)
    defer { FuzzCrashReport.end() }
    var inRow = ReplicaHarness()
    for (index, (name, bytes)) in saved.enumerated() {
      FuzzCrashReport.record(bytes, fresh: index == 0)
      #expect(inRow.run(bytes) == nil, "\(name), after those before it")
    }
  }

  @Test("seeded mutations of the corpus through the decoder", .timeLimit(.minutes(2)))
  func mutatedDecoder() throws {
    var mutator = InputMutator(pool: try Self.pool(), seed: Self.seed ^ 0xDEC0DE)
    FuzzCrashReport.begin("DecoderHarness", seed: Self.seed)
    defer { FuzzCrashReport.end() }
    for index in 0..<Self.executions {
      let input = mutator.next()
      FuzzCrashReport.record(input, fresh: true)
      if let failure = DecoderHarness.run(input) {
        Issue.record(
          Comment(
            rawValue: "DecoderHarness, \(Self.seedText), input #\(index):"
              + " \(failure)\ninput: \(Self.hex(input))"))
        return
      }
    }
  }

  @Test("seeded mutations of the corpus through a replica", .timeLimit(.minutes(2)))
  func mutatedReplica() throws {
    var mutator = InputMutator(pool: try Self.pool(), seed: Self.seed ^ 0x4E_A11C)
    FuzzCrashReport.begin("ReplicaHarness", seed: Self.seed)
    defer { FuzzCrashReport.end() }
    var harness = ReplicaHarness()
    var history: [[UInt8]] = []
    for index in 0..<Self.executions {
      let fresh = index % Self.inputsPerReplica == 0
      if fresh {
        harness = ReplicaHarness()
        history.removeAll()
      }
      let input = mutator.next()
      history.append(input)
      FuzzCrashReport.record(input, fresh: fresh)
      if let failure = harness.run(input) {
        Issue.record(
          Comment(
            rawValue: "ReplicaHarness, \(Self.seedText), input #\(index):"
              + " \(failure)\ninputs since a fresh replica, the last one failing:\n"
              + history.map(Self.hex).joined(separator: "\n")))
        return
      }
    }
  }

  @Test(
    "every 8-byte and 4-byte field of a seed frame of each type at every boundary value",
    .timeLimit(.minutes(2)))
  func boundarySweep() throws {
    FuzzCrashReport.begin("boundary sweep", seed: nil)
    defer { FuzzCrashReport.end() }
    // The first frame of each message type in the corpus, alone.
    var types = Set<UInt8>()
    let frames = SeedCorpus.inputs().flatMap { name, bytes in
      InputMutator.frames(of: bytes).frames.map { (name, $0) }
    }
    .filter { types.insert($0.1[1]).inserted }
    var count = 0
    var replica = ReplicaHarness()
    var history: [[UInt8]] = []
    var failed = false
    for (name, frame) in frames {
      let bytes = InputMutator.input(frames: [frame])
      InputMutator.boundaryVariants(of: bytes, narrow: true) { variant in
        guard !failed else { return }
        let fresh = count % Self.inputsPerReplica == 0
        if fresh {
          replica = ReplicaHarness()
          history.removeAll()
        }
        count += 1
        history.append(variant)
        FuzzCrashReport.record(variant, fresh: fresh)
        if let failure = DecoderHarness.run(variant) ?? replica.run(variant) {
          Issue.record(
            Comment(
              rawValue:
                "a variant of the first frame of \(name): \(failure)\ninputs since a fresh replica,"
                + " the last one failing:\n" + history.map(Self.hex).joined(separator: "\n")))
          failed = true
        }
      }
    }
    #expect(types.count == 9 && count > 10_000)
  }

  @Test("the seed messages, certified, around boundary numbers through both harnesses")
  func certifiedBoundaryNumbers() {
    let values: [UInt64] = [
      0, 1, 2, 1 << 32, (1 << 56) - 1, 1 << 56, (1 << 56) + 1, 1 << 63, .max - 1, .max,
    ]
    var cases: [SeedCorpus.Numbers] = []
    for value in values {
      for field in [
        \SeedCorpus.Numbers.view, \.order, \.checkpointOrder, \.nextDelivery, \.sequence,
        \.stateOrder,
      ] {
        var numbers = SeedCorpus.Numbers()
        numbers[keyPath: field] = value
        cases.append(numbers)
      }
      for order in values {
        var numbers = SeedCorpus.Numbers()
        numbers.view = value
        numbers.order = order
        numbers.checkpointOrder = order
        cases.append(numbers)
      }
    }
    FuzzCrashReport.begin("certified boundary numbers", seed: nil)
    defer { FuzzCrashReport.end() }
    for numbers in cases {
      var replica = ReplicaHarness()
      for (index, (name, bytes)) in SeedCorpus.inputs(numbers).enumerated() {
        FuzzCrashReport.record(bytes, fresh: index == 0)
        if let failure = DecoderHarness.run(bytes) ?? replica.run(bytes) {
          Issue.record(
            Comment(
              rawValue: "\(name) of SeedCorpus.inputs(\(numbers)), after the inputs before it:"
                + " \(failure)\ninput: \(Self.hex(bytes))"))
          return
        }
      }
    }
  }
}

/// What a trap in a harness leaves on stderr: the harness, the seed, and every input
/// since the harness was fresh, in hex (written from the signal handler with
/// preallocated memory only), before the trap goes on to the handler that was there
/// before (Swift's backtracer, or the default).
enum FuzzCrashReport {
  /// Input bytes kept for the report, inputs included whole or not at all.
  static let capacity = 1 << 20
  nonisolated(unsafe) static var inputs = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
  nonisolated(unsafe) static var ends = UnsafeMutablePointer<Int>.allocate(capacity: 4096)
  nonisolated(unsafe) static var inputCount = 0
  nonisolated(unsafe) static var overflowed = false
  nonisolated(unsafe) static var title: UnsafeMutablePointer<CChar>? = nil
  nonisolated(unsafe) static var active = false
  nonisolated(unsafe) static var scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
  nonisolated(unsafe) static var previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
  static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

  /// Installs the handler once per process.
  static let installed: Bool = {
    for signal in signals {
      var action = sigaction()
      #if os(Linux)
        action.__sigaction_handler.sa_handler = fuzzCrashHandler
      #else
        action.__sigaction_u.__sa_handler = fuzzCrashHandler
      #endif
      sigemptyset(&action.sa_mask)
      sigaction(signal, &action, previous + Int(signal))
    }
    return true
  }()

  /// Starts a report for `harness`; the tests of the suite run one at a time.
  static func begin(_ harness: String, seed: UInt64?) {
    _ = installed
    let seedText = seed.map { ", HYBSTER_FUZZ_SEED=\(String($0, radix: 16))" } ?? ""
    title.map { free($0) }
    title = strdup(
      "\nFuzzSmokeTests: the process trapped while \(harness)\(seedText) ran; the inputs"
        + " since its harness was fresh (hex, one a line), the last one running:\n")
    inputCount = 0
    overflowed = false
    active = true
  }

  /// Keeps `input` for the report; `fresh` when the harness starts over with it.
  static func record(_ input: [UInt8], fresh: Bool) {
    if fresh || inputCount == 4096 {
      overflowed = !fresh
      inputCount = 0
    }
    let start = inputCount == 0 ? 0 : ends[inputCount - 1]
    guard start + input.count <= capacity else {
      overflowed = true
      inputCount = 0
      return
    }
    input.withUnsafeBufferPointer {
      if let base = $0.baseAddress { (inputs + start).update(from: base, count: $0.count) }
    }
    ends[inputCount] = start + input.count
    inputCount += 1
  }

  static func end() { active = false }

  /// Called by the signal handler: no allocation, no locks.
  static func report() {
    guard active, let title else { return }
    active = false
    _ = write(2, title, strlen(title))
    if overflowed {
      let text: StaticString = "(earlier inputs not kept)\n"
      _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
    }
    func digit(_ value: UInt8) -> UInt8 { value < 10 ? 48 + value : 87 + value }
    var start = 0
    for index in 0..<inputCount {
      var used = 0
      for offset in start..<ends[index] {
        scratch[used] = digit(inputs[offset] >> 4)
        scratch[used + 1] = digit(inputs[offset] & 15)
        used += 2
        if used == 4096 {
          _ = write(2, scratch, used)
          used = 0
        }
      }
      scratch[used] = 10
      _ = write(2, scratch, used + 1)
      start = ends[index]
    }
  }
}

/// Prints the report, then puts the previous handler back: the trapping instruction
/// runs again and traps into it.
private func fuzzCrashHandler(_ signal: Int32) {
  FuzzCrashReport.report()
  sigaction(signal, FuzzCrashReport.previous + Int(signal), nil)
}
