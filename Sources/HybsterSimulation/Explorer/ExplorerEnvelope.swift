import HybsterCore

/// A message in the explorer's network: from pillar `pillar` of `from` to that
/// pillar of `to` (§5.3: equal pillars talk), with its stable fingerprint.
struct ExplorerEnvelope: Sendable, Hashable {
  var from: ReplicaID
  var to: ReplicaID
  var pillar: Int
  var message: ProtocolMessage
  var fingerprint: UInt64
  var key: MessageKey

  init(
    from: ReplicaID, to: ReplicaID, pillar: Int, message: ProtocolMessage,
    configuration: ProtocolConfiguration
  ) {
    self.from = from
    self.to = to
    self.pillar = pillar
    self.message = message
    fingerprint = StableHasher.fingerprint(message)
    key = MessageKey(message, sender: from, pillar: pillar, configuration: configuration)
  }

  /// What identifies a delivery: a replica receives each distinct message at most
  /// once per pillar, whoever sends it (see ``ExplorerBounds``).
  var destination: UInt64 {
    var hasher = StableHasher()
    hasher.combine(UInt64(to) << 32 | UInt64(pillar))
    hasher.combine(fingerprint)
    return hasher.finalized
  }

  /// The deterministic order of exploration.
  static func precedes(_ a: ExplorerEnvelope, _ b: ExplorerEnvelope) -> Bool {
    (a.to, a.pillar, a.key, a.from, a.fingerprint) < (b.to, b.pillar, b.key, b.from, b.fingerprint)
  }
}
