import HybsterCore
import TrInX

/// A 64-bit hash whose value depends only on what is fed to it, never on the
/// process (unlike Swift's `Hasher`, which is seeded per process): the explorer's
/// state identities and its order of exploration are the same in every run.
///
/// Collisions are possible in principle (64 bits); with the state counts the
/// explorer reaches (millions at most) the chance of a single one is below 10⁻⁶.
struct StableHasher {
  private(set) var state: UInt64 = 0x9E37_79B9_7F4A_7C15

  /// Feeds one word.
  mutating func combine(_ value: UInt64) {
    state = Self.mix(state ^ value &* 0xBF58_476D_1CE4_E5B9)
  }

  /// Feeds a small integer.
  mutating func combine(_ value: Int) { combine(UInt64(bitPattern: Int64(value))) }

  /// Feeds a string, byte by byte, with its length.
  mutating func combine(_ string: String) {
    combine(UInt64(string.utf8.count))
    var word: UInt64 = 0
    var shift: UInt64 = 0
    for byte in string.utf8 {
      word |= UInt64(byte) << shift
      shift += 8
      if shift == 64 {
        combine(word)
        (word, shift) = (0, 0)
      }
    }
    combine(word)
  }

  /// Feeds 32 raw bytes (a digest or a MAC) as four words.
  mutating func combine(raw bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset + 8 <= bytes.count {
      combine(bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
      offset += 8
    }
    while offset < bytes.count {
      combine(UInt64(bytes[offset]))
      offset += 1
    }
  }

  /// The hash of everything fed.
  var finalized: UInt64 { Self.mix(state ^ 0x94D0_49BB_1331_11EB) }

  /// SplitMix64's finaliser: a bijective avalanche of one word.
  static func mix(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// An order-independent combination of element hashes (a multiset's hash).
  static func unordered(_ hashes: some Sequence<UInt64>) -> UInt64 {
    var sum: UInt64 = 0
    var count: UInt64 = 0
    for hash in hashes {
      sum &+= mix(hash)
      count += 1
    }
    return mix(sum ^ count)
  }
}

// MARK: - Messages

extension StableHasher {
  mutating func combine(_ digest: Digest) {
    digest.withUnsafeBytes { combine(raw: $0) }
  }

  mutating func combine(_ mac: TrInXMAC) {
    mac.withUnsafeBytes { combine(raw: $0) }
  }

  mutating func combine(_ value: CounterValue) {
    combine(value.high)
    combine(value.low)
  }

  mutating func combine(_ certificate: Certificate) {
    combine(UInt64(certificate.issuer) << 32 | UInt64(certificate.counter))
    combine(certificate.newValue)
    if let previous = certificate.previousValue {
      combine(1)
      combine(previous)
    } else {
      combine(0)
    }
    combine(certificate.mac)
  }

  mutating func combine(_ request: Request) {
    combine(UInt64(request.client) << 32 | UInt64(request.lane))
    combine(request.sequence)
    combine(UInt64(request.operation.count))
    for byte in request.operation { combine(UInt64(byte)) }
    combine(UInt64(request.authenticator.count))
    for tag in request.authenticator { combine(tag) }
    if let signature = request.signature {
      combine(UInt64(signature.index) << 8 | UInt64(signature.path.count))
      for digest in signature.path { combine(digest) }
      signature.signature.withUnsafeBytes { combine(raw: $0) }
    }
  }

  mutating func combine(_ batch: Batch) {
    combine(UInt64(batch.requests.count))
    for request in batch.requests { combine(request) }
  }

  mutating func combine(_ prepare: Prepare) {
    combine(prepare.view)
    combine(prepare.order)
    combine(prepare.batch)
    combine(prepare.certificate)
  }

  mutating func combine(_ commit: Commit) {
    combine(commit.view)
    combine(commit.order)
    combine(commit.batchDigest)
    combine(UInt64(commit.replica))
    combine(commit.certificate)
  }

  mutating func combine(_ checkpoint: CheckpointMessage) {
    combine(checkpoint.order)
    combine(checkpoint.stateDigest)
    combine(UInt64(checkpoint.replica))
    combine(checkpoint.certificate)
  }

  mutating func combine(_ stable: StableCheckpoint?) {
    guard let stable else { return combine(0) }
    combine(1)
    combine(stable.order)
    combine(stable.stateDigest)
    combine(UInt64(stable.proof.count))
    for message in stable.proof { combine(message) }
  }

  mutating func combine(_ viewChange: ViewChange) {
    combine(UInt64(viewChange.replica))
    combine(viewChange.fromView)
    combine(viewChange.toView)
    combine(viewChange.checkpoint)
    combine(UInt64(viewChange.prepares.count))
    for prepare in viewChange.prepares { combine(prepare) }
    combine(viewChange.certificate)
  }

  mutating func combine(_ ack: NewViewAck) {
    combine(UInt64(ack.replica))
    combine(ack.view)
    combine(UInt64(ack.prepares.count))
    for prepare in ack.prepares { combine(prepare) }
    combine(ack.certificate)
  }

  mutating func combine(_ newView: NewView) {
    combine(newView.view)
    combine(UInt64(newView.viewChanges.count))
    for viewChange in newView.viewChanges { combine(viewChange) }
    combine(UInt64(newView.acknowledgments.count))
    for ack in newView.acknowledgments { combine(ack) }
    combine(UInt64(newView.prepares.count))
    for prepare in newView.prepares { combine(prepare) }
  }

  mutating func combine(_ message: ProtocolMessage) {
    switch message {
    case .prepare(let m):
      combine(1)
      combine(m)
    case .commit(let m):
      combine(2)
      combine(m)
    case .checkpoint(let m):
      combine(3)
      combine(m)
    case .forwardedRequest(let m):
      combine(4)
      combine(m)
    case .status(let m):
      combine(5)
      combine(UInt64(m.replica))
      combine(m.view)
      combine(m.nextDelivery)
    case .viewChange(let m):
      combine(6)
      combine(m)
    case .newView(let m):
      combine(7)
      combine(m)
    case .newViewAck(let m):
      combine(8)
      combine(m)
    }
  }

  /// The stable fingerprint of one message.
  static func fingerprint(_ message: ProtocolMessage) -> UInt64 {
    var hasher = StableHasher()
    hasher.combine(message)
    return hasher.finalized
  }
}
