import Foundation
import HybsterFuzzing

/// Writes the seed corpus of both fuzz targets (``SeedCorpus``) into the directory
/// given as the only argument: one file per message type, certified with the fuzzed
/// group's keys by replicas 1 and 2 so that the fuzzer starts from frames that pass
/// verification, one with a view change by both, and one with a request and a COMMIT.
@main
struct FuzzCorpus {
  static func main() throws {
    let directory = CommandLine.arguments.dropFirst().first ?? "corpus"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let inputs = SeedCorpus.inputs()
    for (name, bytes) in inputs {
      try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
    }
    print("wrote \(inputs.count) seed inputs to \(directory)")
  }
}
