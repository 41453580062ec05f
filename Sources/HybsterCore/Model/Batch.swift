/// The requests ordered by one consensus instance (§6.2: batching).
///
/// An empty batch is a no-op instance (used to fill gaps, §5.3.3).
public struct Batch: Hashable, Sendable {
  /// The requests, in execution order.
  public var requests: [Request]

  /// Creates a batch.
  public init(requests: [Request]) {
    self.requests = requests
  }

  /// The bytes the batch's requests take on the wire (``Request/byteCount``
  /// summed): what batch and window byte budgets count.
  public var byteCount: Int { requests.reduce(0) { $0 + $1.byteCount } }

  /// The no-op batch.
  public static let empty = Batch(requests: [])

  /// The batch digest: a digest over the request digests.
  public var digest: Digest {
    Self.digest(ofRequestDigests: requests.map(\.digest))
  }

  /// The batch digest from already computed request digests.
  public static func digest(ofRequestDigests digests: [Digest]) -> Digest {
    var builder = DigestBuilder(tag: DigestTag.batch.rawValue)
    builder.append(UInt32(truncatingIfNeeded: digests.count))
    for d in digests { builder.append(d) }
    return builder.finalize()
  }
}
