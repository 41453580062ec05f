import HybsterCore

/// The fixed keys of the fuzzed replica and of the seed corpus.
public enum FuzzKeys {
  /// The TrInX group key.
  public static let group = [UInt8](repeating: 0x47, count: 32)
  /// Every replica's client secret.
  public static let replicaSecret = [UInt8](repeating: 0x52, count: 32)
  /// The fuzzed group: n = 3, two pillars, K = 4, W = 8, batches of up to 4.
  public static let configuration = ProtocolConfiguration(
    replicaCount: 3, checkpointInterval: 4, windowSize: 8, maxBatchSize: 4, pillarCount: 2)
}
