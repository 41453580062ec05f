import Foundation
import FuzzDriver

// The entry point (SwiftPM names it FuzzDecoder_main): libFuzzer's driver runs the
// target on the inputs and options of the command line.
exit(
  runFuzzer(argc: CommandLine.argc, argv: CommandLine.unsafeArgv) { data, size in
    fuzzDecoder(data!, size)
  })
