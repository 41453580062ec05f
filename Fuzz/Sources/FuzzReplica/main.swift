import Foundation
import FuzzDriver

// The entry point (SwiftPM names it FuzzReplica_main): libFuzzer's driver runs the
// target on the inputs and options of the command line.
exit(
  runFuzzer(argc: CommandLine.argc, argv: CommandLine.unsafeArgv) { data, size in
    fuzzReplica(data, size)
  })
