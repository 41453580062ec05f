import HybsterCore
import TrInX

/// The stable fingerprint of a replica's whole protocol state (its
/// ``ReplicaPillars``: every pillar and the coordinator), read by reflection.
///
/// The core is deterministic, so its state is a function of its inputs; but two
/// input sequences that differ only in inputs the core ignored (a duplicate, a
/// stale message) leave the same state, and hashing the state itself merges them.
/// Reflection sees every stored property, internal ones included, so nothing of
/// the state escapes the fingerprint. Dictionaries and sets are hashed without
/// regard to their (per-process) iteration order.
///
/// Constant parts and caches are skipped: the configuration, the client keyring (a
/// key cache), the request authenticator's verified signatures and last Merkle walk
/// (caches of pure functions) and TrInX's prepared HMAC key.
enum StateFingerprint {
  /// Labels of stored properties that never change after construction, or only
  /// cache what a pure function of the rest returns.
  static let constantLabels: Set<String> = [
    "configuration", "keyring", "keyed", "verified", "lastWalk",
  ]

  /// The fingerprint of `value`.
  static func of(_ value: Any) -> UInt64 {
    var hasher = StableHasher()
    walk(value, into: &hasher)
    return hasher.finalized
  }

  static func walk(_ value: Any, into hasher: inout StableHasher) {
    // Leaves and the protocol's messages first: fast, and no reflection needed.
    switch value {
    case let x as UInt64: return hasher.combine(x)
    case let x as Int: return hasher.combine(x)
    case let x as UInt32: return hasher.combine(UInt64(x))
    case let x as Bool: return hasher.combine(x ? 1 : 0)
    case let x as UInt8: return hasher.combine(UInt64(x))
    case let x as Prepare: return hasher.combine(x)
    case let x as Commit: return hasher.combine(x)
    case let x as Digest: return hasher.combine(x)
    case let x as Request: return hasher.combine(x)
    case let x as Certificate: return hasher.combine(x)
    case let x as CounterValue: return hasher.combine(x)
    case let x as CheckpointMessage: return hasher.combine(x)
    case let x as StableCheckpoint: return hasher.combine(x)
    case let x as ViewChange: return hasher.combine(x)
    case let x as NewView: return hasher.combine(x)
    case let x as NewViewAck: return hasher.combine(x)
    case let x as ProtocolMessage: return hasher.combine(x)
    case let x as String: return hasher.combine(x)
    default: break
    }
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .dictionary?, .set?:
      // Iteration order depends on the process's hash seed: combine unordered.
      hasher.combine(
        StableHasher.unordered(
          mirror.children.map { child in
            var element = StableHasher()
            walk(child.value, into: &element)
            return element.finalized
          }))
    case .optional?:
      if let child = mirror.children.first {
        hasher.combine(1)
        walk(child.value, into: &hasher)
      } else {
        hasher.combine(0)
      }
    case .enum?:
      if let child = mirror.children.first {
        hasher.combine(child.label ?? "")
        walk(child.value, into: &hasher)
      } else {
        hasher.combine(String(describing: value))
      }
    case .class?:
      // No reference types in the core's state (it is Sendable value types); a
      // class here would be shared, constant infrastructure.
      return
    default:
      if mirror.children.isEmpty {
        hasher.combine(String(describing: value))
        return
      }
      hasher.combine(Int(mirror.children.count))
      for child in mirror.children {
        if let label = child.label, constantLabels.contains(label) { continue }
        walk(child.value, into: &hasher)
      }
    }
  }
}
