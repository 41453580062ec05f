import HybsterCore

/// The fixed keys of the fuzzed replica and of the seed corpus.
public enum FuzzKeys {
  /// The TrInX group key.
  public static let group = [UInt8](repeating: 0x47, count: 32)
  /// The replicas' X25519 keys and the admitted clients (issue 13).
  public static let clients = InProcessKeys(replicas: 3, clients: 2, seed: 0x52)
  /// The fuzzed group: n = 3, two pillars, K = 4, W = 8, batches of up to 4.
  public static let configuration = ProtocolConfiguration(
    replicaCount: 3, checkpointInterval: 4, windowSize: 8, maxBatchSize: 4, pillarCount: 2)
}
