import Testing

@testable import HybsterServices

@Suite("KeyValueOperation and KeyValueResult encodings")
struct KeyValueEncodingTests {
  static let operations: [KeyValueOperation] = [
    .get(key: []),
    .get(key: Array("alpha".utf8)),
    .put(key: Array("k".utf8), value: []),
    .put(key: [0, 255, 7], value: Array(repeating: 0xAB, count: 1000)),
    .delete(key: Array("gone".utf8)),
    .compareAndSwap(key: Array("c".utf8), expected: nil, new: [1]),
    .compareAndSwap(key: Array("c".utf8), expected: [], new: []),
    .compareAndSwap(key: [9], expected: [1, 2, 3], new: [4, 5]),
  ]

  static let results: [KeyValueResult] = [
    .value(nil), .value([]), .value([1, 2, 3]), .ok, .notFound,
    .casFailed(current: nil), .casFailed(current: [0]), .error(""), .error("bad ✓"),
  ]

  @Test("operations round-trip", arguments: operations)
  func operationRoundTrip(_ operation: KeyValueOperation) throws {
    let bytes = operation.encode()
    #expect(bytes.first == KeyValueOperation.version)
    #expect(try KeyValueOperation.decode(bytes) == operation)
  }

  @Test("results round-trip", arguments: results)
  func resultRoundTrip(_ result: KeyValueResult) throws {
    let bytes = result.encode()
    #expect(bytes.first == KeyValueResult.version)
    #expect(try KeyValueResult.decode(bytes) == result)
  }

  @Test("the documented layout: put is version, opcode, u32-prefixed key and value")
  func documentedLayout() {
    #expect(
      KeyValueOperation.put(key: [0xAA], value: [0xBB, 0xCC]).encode() == [
        1, 2, 0, 0, 0, 1, 0xAA, 0, 0, 0, 2, 0xBB, 0xCC,
      ])
    #expect(
      KeyValueOperation.compareAndSwap(key: [], expected: nil, new: [7]).encode() == [
        1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 7,
      ])
    #expect(KeyValueResult.casFailed(current: [5]).encode() == [1, 4, 1, 0, 0, 0, 1, 5])
    #expect(KeyValueResult.ok.encode() == [1, 2])
  }

  @Test("every proper prefix of an encoding is rejected", arguments: operations)
  func truncatedOperations(_ operation: KeyValueOperation) {
    let bytes = operation.encode()
    for length in 0..<bytes.count {
      #expect(throws: ServiceDecodingError.self) {
        try KeyValueOperation.decode(Array(bytes.prefix(length)))
      }
    }
  }

  @Test("every proper prefix of a result encoding is rejected", arguments: results)
  func truncatedResults(_ result: KeyValueResult) {
    let bytes = result.encode()
    for length in 0..<bytes.count {
      #expect(throws: ServiceDecodingError.self) {
        try KeyValueResult.decode(Array(bytes.prefix(length)))
      }
    }
  }

  @Test("malformed operations give typed errors")
  func malformedOperations() {
    #expect(throws: ServiceDecodingError.unsupportedVersion(2)) {
      try KeyValueOperation.decode([2, 1, 0, 0, 0, 0])
    }
    #expect(throws: ServiceDecodingError.unknownTag(9)) {
      try KeyValueOperation.decode([1, 9])
    }
    #expect(throws: ServiceDecodingError.trailingBytes(1)) {
      try KeyValueOperation.decode(KeyValueOperation.get(key: [1]).encode() + [0])
    }
    #expect(throws: ServiceDecodingError.invalidPresenceFlag(2)) {
      try KeyValueOperation.decode([1, 4, 0, 0, 0, 0, 2])
    }
    // A length far beyond the input: refused before allocating anything.
    #expect(throws: ServiceDecodingError.truncated(needed: Int(UInt32.max), remaining: 0)) {
      try KeyValueOperation.decode([1, 1, 0xFF, 0xFF, 0xFF, 0xFF])
    }
  }

  @Test("malformed results give typed errors")
  func malformedResults() {
    #expect(throws: ServiceDecodingError.unknownTag(0)) { try KeyValueResult.decode([1, 0]) }
    #expect(throws: ServiceDecodingError.trailingBytes(2)) {
      try KeyValueResult.decode([1, 2, 0, 0])
    }
    #expect(throws: ServiceDecodingError.invalidUTF8) {
      try KeyValueResult.decode([1, 5, 0, 0, 0, 1, 0xFF])
    }
  }

  @Test("decoding random bytes never crashes and round-trips whatever it accepts")
  func fuzzDecoding() {
    var rng = SplitMix64(seed: 0x5EED)
    for _ in 0..<5000 {
      let length = Int(rng.next() % 24)
      var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      // Bias towards valid headers so the field decoders are exercised.
      if length >= 2, rng.next() % 2 == 0 {
        bytes[0] = 1
        bytes[1] = UInt8(1 + rng.next() % 5)
      }
      if let operation = try? KeyValueOperation.decode(bytes) {
        #expect(operation.encode() == bytes)
      }
      if let result = try? KeyValueResult.decode(bytes) {
        #expect(result.encode() == bytes)
      }
    }
  }
}

/// A small deterministic PRNG for tests.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
