import HybsterCore

/// A correct replica in the explorer: the unmodified core (its ``ReplicaPillars``)
/// and a model of its execution stage that keeps only what the checks need.
///
/// Execution is a running hash over the delivered batches; that hash is the state
/// digest of each checkpoint (§5.2.2), so replicas that executed different batches
/// disagree on checkpoints, and a state transfer installs exactly the hash f+1
/// replicas vouched for.
struct ExplorerReplica: Sendable {
  var core: ReplicaPillars
  /// Batch digests delivered, by global order number.
  var delivered: [OrderNumber: Digest] = [:]
  /// The running hash after the last executed order number.
  var chain: Digest = .zero
  /// State digests of the checkpoints this replica took, by global order number.
  var snapshots: [OrderNumber: Digest] = [:]
  /// Whether the core asked for a state transfer it has not had.
  var needsTransfer = false
  /// Pillars whose batch timer is armed.
  var armedTimers: Set<Int> = []
  /// The fingerprint of `core`, refreshed after every input.
  var coreFingerprint: UInt64 = 0

  /// The running hash after executing `batch`.
  static func extend(_ chain: Digest, with batch: Batch) -> Digest {
    var builder = DigestBuilder(tag: 0xE1)
    builder.append(chain)
    builder.append(batch.digest)
    return builder.finalize()
  }

  /// The fingerprint of everything but the core (which has its own).
  var shellFingerprint: UInt64 {
    var hasher = StableHasher()
    hasher.combine(chain)
    hasher.combine(needsTransfer ? 1 : 0)
    hasher.combine(StableHasher.unordered(armedTimers.map { UInt64($0) }))
    hasher.combine(
      StableHasher.unordered(
        delivered.map { order, digest in
          var entry = StableHasher()
          entry.combine(order)
          entry.combine(digest)
          return entry.finalized
        }))
    return hasher.finalized
  }
}
