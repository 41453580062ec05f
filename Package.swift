// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
  name: "hybster-swift",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "TrInX", targets: ["TrInX"]),
    .library(name: "HybsterCore", targets: ["HybsterCore"]),
    .library(name: "HybsterClient", targets: ["HybsterClient"]),
    .library(name: "HybsterRuntime", targets: ["HybsterRuntime"]),
    .library(name: "HybsterServices", targets: ["HybsterServices"]),
    .library(name: "HybsterWire", targets: ["HybsterWire"]),
    .executable(name: "hybster", targets: ["hybster"]),
    // The fuzz harnesses, for Fuzz/ (libFuzzer) and the tests; not for applications.
    .library(name: "HybsterFuzzing", targets: ["HybsterFuzzing"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
  ],
  targets: [
    // §5.1: the trusted subsystem. Depends on nothing of ours.
    .target(
      name: "TrInX",
      dependencies: [.product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: strict
    ),
    // §5.2: the pure protocol core. No I/O, no clocks, no threads, no randomness.
    .target(
      name: "HybsterCore",
      dependencies: [
        "TrInX",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "DequeModule", package: "swift-collections"),
      ],
      swiftSettings: strict
    ),
    // Replicated services (microbenchmark, key-value store).
    .target(
      name: "HybsterServices",
      dependencies: ["HybsterCore"],
      swiftSettings: strict
    ),
    // Binary codec for every message; bounded, total decoding.
    .target(
      name: "HybsterWire",
      dependencies: ["HybsterCore", "TrInX", .product(name: "NIOCore", package: "swift-nio")],
      swiftSettings: strict
    ),
    // SwiftNIO shell: transport, timers, execution stage.
    .target(
      name: "HybsterRuntime",
      dependencies: [
        "HybsterCore", "HybsterWire", "HybsterServices", "TrInX",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    // Client library: f+1 matching replies, retransmission.
    .target(
      name: "HybsterClient",
      dependencies: [
        "HybsterCore", "HybsterWire", "HybsterRuntime",
        .product(name: "DequeModule", package: "swift-collections"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // Deterministic simulator driving the unmodified core.
    .target(
      name: "HybsterSimulation",
      dependencies: ["HybsterCore", "HybsterServices", "TrInX"],
      swiftSettings: strict
    ),
    // Fuzz harnesses (issue 11): what one input of Fuzz/'s libFuzzer targets does,
    // their fixed keys, seed corpus and a seeded mutator, also run by `swift test`.
    .target(
      name: "HybsterFuzzing",
      dependencies: [
        "HybsterCore", "HybsterWire", "TrInX", .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "hybster",
      dependencies: [
        "HybsterCore", "HybsterWire", "HybsterRuntime", "HybsterClient", "HybsterServices",
        "HybsterSimulation", "TrInX",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Histogram", package: "hdrhistogram-swift"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "TrInXTests", dependencies: ["TrInX"], resources: [.copy("Vectors")],
      swiftSettings: strict),
    .testTarget(
      name: "HybsterCoreTests", dependencies: ["HybsterCore", "HybsterServices", "TrInX"],
      swiftSettings: strict),
    .testTarget(
      name: "HybsterWireTests",
      dependencies: [
        "HybsterWire", "HybsterCore", "TrInX",
        .product(name: "NIOEmbedded", package: "swift-nio"),
      ],
      swiftSettings: strict),
    .testTarget(
      name: "HybsterServicesTests", dependencies: ["HybsterServices", "HybsterCore"],
      swiftSettings: strict),
    .testTarget(
      name: "HybsterSimulationTests",
      dependencies: [
        "HybsterSimulation", "HybsterCore", "HybsterServices", "TrInX", "HybsterFuzzing",
      ],
      swiftSettings: strict),
    .testTarget(
      name: "HybsterRuntimeTests",
      dependencies: ["HybsterRuntime", "HybsterWire", "HybsterCore", "HybsterServices", "TrInX"],
      swiftSettings: strict),
    .testTarget(
      name: "HybsterIntegrationTests",
      dependencies: [
        "HybsterRuntime", "HybsterClient", "HybsterServices", "HybsterCore", "HybsterSimulation",
      ],
      swiftSettings: strict
    ),
  ],
  swiftLanguageModes: [.v6]
)
