import Foundation
import FuzzDriver
import HybsterFuzzing

// The entry point (SwiftPM names it FuzzDecoder_main): libFuzzer's driver runs the
// harness on the inputs and options of the command line; a broken invariant traps,
// so that libFuzzer keeps the input as a crash.
exit(
  runFuzzer(argc: CommandLine.argc, argv: CommandLine.unsafeArgv) { data, size in
    if let failure = DecoderHarness.run(UnsafeBufferPointer(start: data, count: size)) {
      fatalError("FuzzDecoder: \(failure)")
    }
    return 0
  })
