import HybsterCore
import Synchronization

/// Client-signature checks remembered for one run (issue 13).
///
/// An Ed25519 verification costs about 100 µs, and every pillar of every simulated
/// replica checks each request it proposes, commits and delivers. Validity is a pure
/// function of (key, message, signature), so one memo shared by all replicas of a
/// run changes no decision: each distinct signature is verified once per run.
final class SignatureMemo: SignatureChecking {
  private struct Key: Hashable {
    var signing: [UInt8]
    var message: Digest
    var signature: [UInt8]
  }

  private struct State {
    var results: [Key: Bool] = [:]
    var verifications = 0
  }

  private let base: any SignatureChecking
  private let limit: Int
  private let state = Mutex(State())

  /// A memo over `base`, keeping at most `limit` results (then starting afresh).
  init(_ base: any SignatureChecking = Ed25519Signatures(), limit: Int = 1 << 16) {
    self.base = base
    self.limit = limit
  }

  /// How many checks reached `base` (the rest were remembered).
  var verifications: Int { state.withLock { $0.verifications } }

  func isValid(_ signature: [UInt8], over message: Digest, by client: ClientPublicKeys) -> Bool {
    let key = Key(signing: client.signing, message: message, signature: signature)
    if let known = state.withLock({ $0.results[key] }) { return known }
    let valid = base.isValid(signature, over: message, by: client)
    state.withLock {
      if $0.results.count >= limit { $0.results.removeAll(keepingCapacity: true) }
      $0.results[key] = valid
      $0.verifications += 1
    }
    return valid
  }
}
