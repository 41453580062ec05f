/// A small, seeded pseudo-random generator (SplitMix64): the same seed gives the same
/// sequence on every platform and run, so that a fuzz failure is reproducible from
/// its seed.
public struct FuzzRandom: RandomNumberGenerator, Sendable {
  /// The generator's state.
  public private(set) var state: UInt64

  /// A generator that starts from `seed`.
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A number in `0..<bound`; `bound` must be positive.
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound > 0, "empty range")
    return Int(next() % UInt64(bound))
  }

  /// True with probability `numerator / denominator`.
  public mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
    below(denominator) < numerator
  }

  /// A random element of a non-empty array.
  public mutating func element<T>(of array: [T]) -> T { array[below(array.count)] }
}

/// The numbers a fuzzer tries in a field: the edges of every width, and of
/// ``HybsterCore/ProtocolNumbers/limit`` (2^56), up to which a replica computes with
/// what a peer sends.
public enum BoundaryValues {
  /// For 8-byte fields (views, order numbers, sequence numbers, counter values).
  public static let u64: [UInt64] = [
    0, 1, 2, (1 << 32) - 1, 1 << 32, (1 << 56) - 1, 1 << 56, (1 << 56) + 1, (1 << 63) - 1,
    1 << 63, .max - 1, .max,
  ]
  /// For 4-byte fields (lengths, counts, replica and client ids, lanes).
  public static let u32: [UInt32] = [
    0, 1, 2, 3, 0x7F, 0xFFFF, 0x00FF_FFFF, 0x0100_0000, 0x0100_0001, 0x7FFF_FFFF, 0x8000_0000,
    .max - 1, .max,
  ]
  /// For 2-byte fields (counts of entries).
  public static let u16: [UInt16] = [0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0x8000, .max - 1, .max]
  /// For single bytes (versions, types, kinds, roles, flags).
  public static let u8: [UInt8] = [0, 1, 2, 3, 0x7F, 0x80, 0xFE, 0xFF]
}

/// A deterministic, seeded mutation fuzzer over length-prefixed frames (the smoke
/// fuzzing of `swift test`, without coverage feedback): each input starts from one
/// input of `pool`, possibly spliced with frames of another, and gets one to four
/// mutations — frames duplicated, dropped, swapped or replaced; bytes of a frame's
/// body flipped, set, inserted, deleted or copied; 1-, 2-, 4- and 8-byte big-endian
/// fields set to ``BoundaryValues`` or moved by a small delta; the type byte changed.
/// Length fields are rewritten to match (so the decoder reads past them) in seven
/// inputs out of eight; the rest keep a wrong length or get a raw cut or insert.
public struct InputMutator: Sendable {
  /// The inputs mutations start from.
  public let pool: [[UInt8]]
  /// The generator; its state after a run says nothing useful, its seed everything.
  public var random: FuzzRandom

  /// A mutator of `pool` (not empty) whose inputs follow from `seed` alone.
  public init(pool: [[UInt8]], seed: UInt64) {
    precondition(!pool.isEmpty, "an empty pool")
    self.pool = pool
    random = FuzzRandom(seed: seed)
  }

  /// The next input.
  public mutating func next() -> [UInt8] {
    var (frames, rest) = Self.frames(of: random.element(of: pool))
    if random.chance(1, in: 3) {
      let other = Self.frames(of: random.element(of: pool)).frames
      frames.insert(contentsOf: other, at: random.below(frames.count + 1))
    }
    for _ in 0..<(random.chance(1, in: 2) ? 1 : 1 + random.below(4)) {
      mutateFrames(&frames)
    }
    var output: [UInt8] = []
    let wrongLength = random.chance(1, in: 8) ? random.below(max(frames.count, 1)) : nil
    for (index, body) in frames.enumerated() {
      var length = UInt32(truncatingIfNeeded: body.count)
      if index == wrongLength {
        length =
          random.chance(1, in: 2)
          ? random.element(of: BoundaryValues.u32) : length &+ (random.chance(1, in: 2) ? 1 : ~0)
      }
      Self.append(length, to: &output)
      output += body
    }
    output += rest
    if random.chance(1, in: 16) { mutateBytes(&output, donor: output) }
    return output
  }

  /// The bodies of the complete frames at the front of `input` (after their length
  /// fields), and the bytes after them.
  public static func frames(of input: [UInt8]) -> (frames: [[UInt8]], rest: [UInt8]) {
    var frames: [[UInt8]] = []
    var offset = 0
    while input.count - offset >= 4 {
      let length = input[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
      guard length <= input.count - offset - 4 else { break }
      frames.append(Array(input[offset + 4..<offset + 4 + length]))
      offset += 4 + length
    }
    return (frames, Array(input[offset...]))
  }

  /// The input of `frames` (bodies, after their length fields), each preceded by
  /// its length.
  public static func input(frames: [[UInt8]]) -> [UInt8] {
    var output: [UInt8] = []
    for body in frames {
      append(UInt32(truncatingIfNeeded: body.count), to: &output)
      output += body
    }
    return output
  }

  /// Every variant of `input` with one big-endian field of one frame's body set to
  /// a boundary value, for every offset after the frame's version and type bytes:
  /// 8-byte fields to every ``BoundaryValues/u64``, and with `narrow`, 4-byte fields to
  /// every ``BoundaryValues/u32`` too. Length fields stay as they are.
  public static func boundaryVariants(of input: [UInt8], narrow: Bool, _ body: ([UInt8]) -> Void) {
    var frameStart = 0
    for frame in frames(of: input).frames {
      let bodyStart = frameStart + 4
      for width in narrow ? [8, 4] : [8] where frame.count >= 2 + width {
        let values =
          width == 8 ? BoundaryValues.u64 : BoundaryValues.u32.map { UInt64($0) }
        for offset in 2...(frame.count - width) {
          for value in values {
            var variant = input
            write(value, width: width, at: bodyStart + offset, in: &variant)
            if variant != input { body(variant) }
          }
        }
      }
      frameStart = bodyStart + frame.count
    }
  }

  // MARK: Mutations

  private mutating func mutateFrames(_ frames: inout [[UInt8]]) {
    guard !frames.isEmpty else {
      frames = Self.frames(of: random.element(of: pool)).frames
      return
    }
    let index = random.below(frames.count)
    switch random.below(12) {
    case 0: frames.insert(frames[index], at: random.below(frames.count + 1))
    case 1 where frames.count > 1: frames.remove(at: index)
    case 2: frames.swapAt(index, random.below(frames.count))
    case 3:
      let donor = Self.frames(of: random.element(of: pool)).frames
      if !donor.isEmpty { frames[index] = random.element(of: donor) }
    default:
      let donor = frames[random.below(frames.count)]
      mutateBytes(&frames[index], donor: donor, header: 2)
    }
  }

  /// One mutation of `bytes`; `header` leading bytes (a body's version and type) are
  /// touched by one mutation in sixteen only.
  private mutating func mutateBytes(_ bytes: inout [UInt8], donor: [UInt8], header: Int = 0) {
    if header > 0, bytes.count >= header, random.chance(1, in: 16) {
      // A valid version with another type, so that the bytes are read as another message.
      bytes[1] = UInt8(1 + random.below(20))
      return
    }
    let start = bytes.count > header ? header : 0
    func offset(width: Int) -> Int? {
      bytes.count - start >= width ? start + random.below(bytes.count - start - width + 1) : nil
    }
    switch random.below(11) {
    case 0:
      if let at = offset(width: 1) { bytes[at] ^= 1 << UInt8(random.below(8)) }
    case 1:
      if let at = offset(width: 1) {
        bytes[at] =
          random.chance(1, in: 2)
          ? random.element(of: BoundaryValues.u8) : UInt8(truncatingIfNeeded: random.next())
      }
    case 2:
      if let at = offset(width: 2) {
        Self.write(UInt64(random.element(of: BoundaryValues.u16)), width: 2, at: at, in: &bytes)
      }
    case 3:
      if let at = offset(width: 4) {
        Self.write(UInt64(random.element(of: BoundaryValues.u32)), width: 4, at: at, in: &bytes)
      }
    case 4, 5:
      if let at = offset(width: 8) {
        Self.write(random.element(of: BoundaryValues.u64), width: 8, at: at, in: &bytes)
      }
    case 6:
      // A small step up or down of an 8- or 4-byte field.
      let width = random.chance(1, in: 2) ? 8 : 4
      if let at = offset(width: width) {
        let value = bytes[at..<at + width].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let step = UInt64(1 + random.below(16))
        let moved = random.chance(1, in: 2) ? value &+ step : value &- step
        Self.write(moved, width: width, at: at, in: &bytes)
      }
    case 7:
      let count = 1 + random.below(16)
      let at = start + random.below(bytes.count - start + 1)
      bytes.insert(
        contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
    case 8:
      if let at = offset(width: 1) {
        bytes.removeSubrange(at..<min(bytes.count, at + 1 + random.below(16)))
      }
    case 9:
      // Bytes of the donor (another frame, or this one) copied over or into these.
      guard !donor.isEmpty else { return }
      let from = random.below(donor.count)
      let slice = donor[from..<min(donor.count, from + 1 + random.below(32))]
      let at = start + random.below(bytes.count - start + 1)
      if random.chance(1, in: 2) {
        bytes.insert(contentsOf: slice, at: at)
      } else {
        bytes.replaceSubrange(at..<min(bytes.count, at + slice.count), with: slice)
      }
    default:
      if let at = offset(width: 1) { bytes.removeSubrange(at...) }
    }
  }

  private static func write(_ value: UInt64, width: Int, at offset: Int, in bytes: inout [UInt8]) {
    for index in 0..<width {
      bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(width - 1 - index)))
    }
  }

  private static func append(_ value: UInt32, to bytes: inout [UInt8]) {
    for shift in stride(from: 24, through: 0, by: -8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
    }
  }
}
