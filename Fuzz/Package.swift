// swift-tools-version: 6.1
// Coverage-guided fuzzing (libFuzzer) of the wire decoder and of a replica's input
// handlers (issue 11). Not part of the main build: `Fuzz/run` builds these targets
// with `-sanitize=fuzzer,address` and runs them; see Fuzz/README.md.
import PackageDescription

let package = Package(
  name: "hybster-fuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(name: "hybster-swift", path: "..")],
  targets: [
    // Hands a target's entry point over to libFuzzer's driver.
    .target(name: "FuzzDriver"),
    .target(
      name: "FuzzSupport",
      dependencies: [.product(name: "HybsterCore", package: "hybster-swift")]),
    // Decodes one input as a stream of frames; whatever decodes must re-encode to
    // the same bytes.
    .executableTarget(
      name: "FuzzDecoder",
      dependencies: [.product(name: "HybsterWire", package: "hybster-swift"), "FuzzDriver"]),
    // Feeds every decoded frame of one input to a replica with two pillars.
    .executableTarget(
      name: "FuzzReplica",
      dependencies: [
        .product(name: "HybsterWire", package: "hybster-swift"),
        .product(name: "HybsterCore", package: "hybster-swift"),
        .product(name: "TrInX", package: "hybster-swift"),
        "FuzzSupport", "FuzzDriver",
      ]),
    // Writes the seed corpus: one valid frame of every message type.
    .executableTarget(
      name: "FuzzCorpus",
      dependencies: [
        .product(name: "HybsterWire", package: "hybster-swift"),
        .product(name: "HybsterCore", package: "hybster-swift"),
        .product(name: "TrInX", package: "hybster-swift"),
        "FuzzSupport",
      ]),
  ]
)
