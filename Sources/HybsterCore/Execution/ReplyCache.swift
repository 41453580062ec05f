/// The last reply of every lane: exactly-once execution and the "vector of return
/// values" that CHECKPOINT digests cover (§5.2.2).
public struct ReplyCache: Sendable, Hashable {
  /// A lane's last executed request and its result.
  public struct Entry: Sendable, Hashable {
    /// The sequence number executed last.
    public var sequence: UInt64
    /// Its result.
    public var result: [UInt8]

    /// Creates an entry.
    public init(sequence: UInt64, result: [UInt8]) {
      self.sequence = sequence
      self.result = result
    }
  }

  /// Entries by lane.
  public private(set) var entries: [LaneKey: Entry] = [:]

  /// Creates an empty cache.
  public init() {}

  /// Creates a cache holding `entries`.
  public init(entries: [LaneKey: Entry]) {
    self.entries = entries
  }

  /// The entry of `lane`.
  public subscript(lane: LaneKey) -> Entry? { entries[lane] }

  /// Records the result of executing `sequence` on `lane`.
  public mutating func record(_ lane: LaneKey, sequence: UInt64, result: [UInt8]) {
    entries[lane] = Entry(sequence: sequence, result: result)
  }

  /// A digest over every entry in lane order: what replicas agree on at checkpoints.
  public var digest: Digest {
    var builder = DigestBuilder(tag: DigestTag.replyVector.rawValue)
    builder.append(UInt64(entries.count))
    for (lane, entry) in entries.sorted(by: { $0.key < $1.key }) {
      builder.append(lane.client)
      builder.append(lane.lane)
      builder.append(entry.sequence)
      builder.append(bytes: entry.result)
    }
    return builder.finalize()
  }
}
