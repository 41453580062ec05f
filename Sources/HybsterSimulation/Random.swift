/// SplitMix64 (Steele, Lea, Flood 2014): expands one 64-bit seed into the state of
/// ``SimulationRandom``. Written here so that a seed means the same run on every
/// platform and toolchain (the standard library's random APIs make no such promise).
public struct SplitMix64: Sendable {
  /// The generator's state.
  public var state: UInt64

  /// Creates the generator from `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// xoshiro256** (Blackman, Vigna): the simulator's only source of randomness.
/// Every random choice of a run is drawn from a generator seeded from the run's seed.
public struct SimulationRandom: Sendable {
  private var s0, s1, s2, s3: UInt64

  /// Creates a generator whose state SplitMix64 derives from `seed`.
  public init(seed: UInt64) {
    var mix = SplitMix64(seed: seed)
    s0 = mix.next()
    s1 = mix.next()
    s2 = mix.next()
    s3 = mix.next()
  }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = s3 << 45 | s3 >> 19
    return result
  }

  /// A value in `0..<bound` (`bound` > 0), by Lemire's multiply-high reduction.
  public mutating func below(_ bound: UInt64) -> UInt64 {
    precondition(bound > 0)
    return bound.multipliedFullWidth(by: next()).high
  }

  /// A value in `range`.
  public mutating func int(_ range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(below(UInt64(range.upperBound - range.lowerBound + 1)))
  }

  /// A value in `range`.
  public mutating func uint(_ range: ClosedRange<UInt64>) -> UInt64 {
    let width = range.upperBound - range.lowerBound
    return width == .max ? next() : range.lowerBound + below(width + 1)
  }

  /// True with probability `p`.
  public mutating func chance(_ p: Double) -> Bool {
    Double(next() >> 11) * 0x1p-53 < p
  }

  /// A uniformly chosen element of a non-empty array.
  public mutating func pick<T>(_ elements: [T]) -> T {
    elements[Int(below(UInt64(elements.count)))]
  }

  /// An index chosen with probability proportional to its weight.
  public mutating func weighted(_ weights: [Int]) -> Int {
    let total = weights.reduce(0, +)
    precondition(total > 0)
    var x = Int(below(UInt64(total)))
    for (i, w) in weights.enumerated() {
      if x < w { return i }
      x -= w
    }
    return weights.count - 1
  }

  /// `elements` in a random order (Fisher–Yates).
  public mutating func shuffled<T>(_ elements: [T]) -> [T] {
    var result = elements
    if result.count < 2 { return result }
    for i in stride(from: result.count - 1, to: 0, by: -1) {
      result.swapAt(i, Int(below(UInt64(i + 1))))
    }
    return result
  }

  /// `count` random bytes.
  public mutating func bytes(_ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
  }

  /// An independent generator for a sub-component, so that adding draws in one
  /// component does not shift every other component's choices.
  public mutating func fork() -> SimulationRandom {
    SimulationRandom(seed: next())
  }
}
