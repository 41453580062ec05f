import HybsterCore
import HybsterServices

/// The invariants the simulator checks continuously (issue #5).
public enum Invariant: String, Sendable, Hashable, CaseIterable {
  /// No two correct replicas deliver different batches at the same order number.
  case agreement
  /// Every correct replica's executed sequence is a gap-free prefix of one
  /// canonical sequence.
  case canonicalPrefix
  /// Correct replicas' snapshot digests are equal at each checkpoint order, and a
  /// stable checkpoint carries a digest some correct replica computed.
  case checkpointDigest
  /// Every accepted result equals re-executing the canonical order on a fresh
  /// KeyValueStore; each (lane, sequence) is accepted at most once.
  case linearizability
  /// Correct replicas execute only requests their clients sent (issue 13; with
  /// `macs` mode and a Byzantine replica this is the known gap, and the run is not
  /// liveness-checked instead).
  case validity
  /// Every bounded buffer stays within its bound.
  case boundedBuffers
  /// After healing, every client finishes and correct replicas converge.
  case liveness
}

/// A broken invariant: what, when, and the events that led there.
public struct Violation: Error, Sendable, CustomStringConvertible {
  /// The invariant.
  public var invariant: Invariant
  /// What exactly was wrong.
  public var detail: String
  /// Simulated time of detection, microseconds.
  public var time: SimTime
  /// The last events before detection, oldest first.
  public var trace: [String]

  public var description: String {
    "invariant \(invariant.rawValue) violated at t=\(time)us: \(detail)\n  trace (last \(trace.count) events):\n"
      + trace.map { "    " + $0 }.joined(separator: "\n")
  }
}

/// A request's identity: lane and sequence number.
struct RequestKey: Hashable, Sendable {
  var lane: LaneKey
  var sequence: UInt64
}

/// The safety checkers. The first correct replica to deliver an order number fixes
/// the canonical batch for it; every other observation is compared with that.
struct InvariantChecker: Sendable {
  /// Canonical batch digests, index o-1 (deliveries are gap-free from 1).
  private(set) var canonical: [Digest] = []
  /// Canonical chain hash after each order: covers the whole executed prefix.
  private var chain: [Digest] = []
  /// Canonical checkpoint digests by order.
  private var checkpoints: [OrderNumber: Digest] = [:]
  /// The sequential specification, fed the canonical order.
  private var model = KeyValueStore()
  private var modelLast: [LaneKey: UInt64] = [:]
  /// Expected result of every request the canonical order executed.
  private var expected: [RequestKey: [UInt8]] = [:]
  private var accepted: Set<RequestKey> = []

  /// The number of canonical order numbers.
  var canonicalCount: Int { canonical.count }

  /// A correct replica delivered `batch` at `order`.
  mutating func delivered(replica: ReplicaID, order: OrderNumber, batch: Batch) -> (
    Invariant, String
  )? {
    let digest = batch.digest
    let index = Int(order) - 1
    if index < canonical.count {
      guard canonical[index] == digest else {
        return (
          .agreement,
          "replica \(replica) delivered batch \(digest) (\(batch.requests.count) requests) at order"
            + " \(order), another correct replica delivered \(canonical[index])"
        )
      }
      return nil
    }
    guard index == canonical.count else {
      return (
        .canonicalPrefix,
        "replica \(replica) delivered order \(order) but the canonical sequence has only"
          + " \(canonical.count) orders"
      )
    }
    canonical.append(digest)
    var builder = DigestBuilder(tag: 0xC1)
    builder.append(chain.last ?? .zero)
    builder.append(digest)
    chain.append(builder.finalize())
    for request in batch.requests {
      if let last = modelLast[request.key], last >= request.sequence { continue }
      modelLast[request.key] = request.sequence
      expected[RequestKey(lane: request.key, sequence: request.sequence)] = model.execute(
        request.operation)
    }
    return nil
  }

  /// A correct replica executed `order`; `previous` is its last executed before,
  /// `chainHash` its own running hash after executing.
  func executed(
    replica: ReplicaID, order: OrderNumber, previous: OrderNumber, chainHash: Digest
  ) -> (Invariant, String)? {
    guard order == previous + 1 else {
      return (
        .canonicalPrefix, "replica \(replica) was handed order \(order) after executing \(previous)"
      )
    }
    let index = Int(order) - 1
    guard index < chain.count, chain[index] == chainHash else {
      return (
        .canonicalPrefix,
        "replica \(replica)'s executed sequence up to \(order) is not a prefix of the canonical one"
      )
    }
    return nil
  }

  /// The canonical running hash after `order` (what a replica that installs the
  /// checkpoint at `order` by state transfer continues from).
  func chainHash(after order: OrderNumber) -> Digest? {
    order == 0 ? .zero : (Int(order) <= chain.count ? chain[Int(order) - 1] : nil)
  }

  /// The running hash a replica keeps over its executed batches.
  static func extend(_ chainHash: Digest, with batch: Batch) -> Digest {
    var builder = DigestBuilder(tag: 0xC1)
    builder.append(chainHash)
    builder.append(batch.digest)
    return builder.finalize()
  }

  /// A correct replica took a snapshot at `order`.
  mutating func snapshot(replica: ReplicaID, order: OrderNumber, digest: Digest) -> (
    Invariant, String
  )? {
    if let known = checkpoints[order] {
      guard known == digest else {
        return (
          .checkpointDigest,
          "replica \(replica)'s snapshot at \(order) has digest \(digest), another correct replica's"
            + " \(known)"
        )
      }
      return nil
    }
    checkpoints[order] = digest
    return nil
  }

  /// A correct replica considers the checkpoint at `order` stable.
  func stable(replica: ReplicaID, order: OrderNumber, digest: Digest) -> (Invariant, String)? {
    guard let known = checkpoints[order] else {
      return (
        .checkpointDigest,
        "replica \(replica) holds a stable checkpoint at \(order) (\(digest)) that no correct"
          + " replica has taken"
      )
    }
    guard known == digest else {
      return (
        .checkpointDigest,
        "replica \(replica) holds a stable checkpoint at \(order) with digest \(digest); correct"
          + " replicas computed \(known)"
      )
    }
    return nil
  }

  /// A client accepted `result` for (`lane`, `sequence`).
  mutating func accepted(lane: LaneKey, sequence: UInt64, result: [UInt8]) -> (Invariant, String)? {
    let key = RequestKey(lane: lane, sequence: sequence)
    guard accepted.insert(key).inserted else {
      return (
        .linearizability,
        "client \(lane.client) lane \(lane.lane) accepted sequence \(sequence) twice"
      )
    }
    guard let expected = expected[key] else {
      return (
        .linearizability,
        "client \(lane.client) lane \(lane.lane) accepted a result for sequence \(sequence) that"
          + " the canonical order never executed"
      )
    }
    guard expected == result else {
      return (
        .linearizability,
        "client \(lane.client) lane \(lane.lane) sequence \(sequence) accepted"
          + " \(Self.render(result)), the sequential specification gives \(Self.render(expected))"
      )
    }
    return nil
  }

  static func render(_ result: [UInt8]) -> String {
    (try? KeyValueResult.decode(result)).map { "\($0)" } ?? "\(result)"
  }
}
