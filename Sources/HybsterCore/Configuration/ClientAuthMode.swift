/// How replicas authenticate client requests (issue 13).
public enum ClientAuthMode: String, Codable, Hashable, Sendable, CaseIterable {
  /// Every request carries the client's Ed25519 signature (over a Merkle root of the
  /// requests the client sent together): every replica can check every request, a
  /// NEW-VIEW's re-proposed ones included, so no replica can get a request executed
  /// that its client did not send. The default.
  case signatures
  /// Every request carries one MAC per replica (PBFT-style authenticators): cheap,
  /// but a replica can check only its own tag, so a Byzantine leader can get an
  /// invented request executed through a view change. For benchmarks and trusted
  /// deployments only.
  case macs
}
