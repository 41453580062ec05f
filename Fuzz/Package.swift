// swift-tools-version: 6.1
// Coverage-guided fuzzing (libFuzzer) of the wire decoder and of a replica's input
// handlers (issue 11). Not part of the main build: `Fuzz/run` builds these targets
// with libFuzzer's coverage instrumentation and AddressSanitizer and runs them; see
// Fuzz/README.md. What one input does (the harnesses), the fixed keys and the seed
// corpus live in the main package's HybsterFuzzing library, which `swift test` also
// runs without libFuzzer (Tests/HybsterSimulationTests/FuzzSmokeTests.swift).
import PackageDescription

let package = Package(
  name: "hybster-fuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(name: "hybster-swift", path: "..")],
  targets: [
    // Hands a target's entry point over to libFuzzer's driver.
    .target(name: "FuzzDriver"),
    // Decodes one input as a stream of frames (HybsterFuzzing.DecoderHarness).
    .executableTarget(
      name: "FuzzDecoder",
      dependencies: [.product(name: "HybsterFuzzing", package: "hybster-swift"), "FuzzDriver"]),
    // Feeds every decoded frame of one input to a replica with two pillars
    // (HybsterFuzzing.ReplicaHarness).
    .executableTarget(
      name: "FuzzReplica",
      dependencies: [.product(name: "HybsterFuzzing", package: "hybster-swift"), "FuzzDriver"]),
    // Writes the seed corpus (HybsterFuzzing.SeedCorpus): one valid frame of every
    // message type.
    .executableTarget(
      name: "FuzzCorpus",
      dependencies: [.product(name: "HybsterFuzzing", package: "hybster-swift")]),
  ]
)
