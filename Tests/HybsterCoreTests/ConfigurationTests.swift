import HybsterCore
import Testing

@Suite("Configuration and quorums (§5.2)")
struct ConfigurationTests {
  @Test(
    "n = 2f+1 replicas, quorum q = f+1",
    arguments: [(3, 1, 2), (5, 2, 3), (7, 3, 4)])
  func quorums(n: Int, f: Int, q: Int) throws {
    let configuration = ProtocolConfiguration(replicaCount: n)
    try configuration.validate()
    #expect(configuration.faultsTolerated == f)
    #expect(configuration.quorum == q)
    // §5.2: 2q > n and n ≥ q + f.
    #expect(2 * configuration.quorum > n)
    #expect(n >= configuration.quorum + configuration.faultsTolerated)
  }

  @Test("the leader of view v is v mod n")
  func leaders() {
    let configuration = ProtocolConfiguration(replicaCount: 5)
    #expect((0..<12).map { configuration.leader(of: $0) } == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1])
  }

  @Test("invalid configurations are refused with a typed error")
  func validationErrors() {
    func error(_ c: ProtocolConfiguration) -> ConfigurationError? {
      do {
        try c.validate()
        return nil
      } catch { return error }
    }
    #expect(error(ProtocolConfiguration(replicaCount: 1)) == .tooFewReplicas(1))
    #expect(error(ProtocolConfiguration(replicaCount: 2)) == .tooFewReplicas(2))
    #expect(error(ProtocolConfiguration(replicaCount: 4)) == .evenReplicaCount(4))
    #expect(error(ProtocolConfiguration(replicaCount: 6)) == .evenReplicaCount(6))
    #expect(error(ProtocolConfiguration(replicaCount: 257)) == .tooManyReplicas(257))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, checkpointInterval: 0))
        == .invalidCheckpointInterval(0))
    // The window must hold at least two checkpoint intervals and be a multiple of K.
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, checkpointInterval: 4, windowSize: 4))
        == .invalidWindow(windowSize: 4, checkpointInterval: 4))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, checkpointInterval: 4, windowSize: 10))
        == .invalidWindow(windowSize: 10, checkpointInterval: 4))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, checkpointInterval: 4, windowSize: 8)) == nil)
    // Numbers a configuration file may hold are bounded before any arithmetic.
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, checkpointInterval: .max))
        == .invalidCheckpointInterval(.max))
    #expect(
      error(
        ProtocolConfiguration(replicaCount: 3, checkpointInterval: 1 << 24, windowSize: 1 << 25))
        == .invalidCheckpointInterval(1 << 24))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, checkpointInterval: 4, windowSize: 1 << 26))
        == .invalidWindow(windowSize: 1 << 26, checkpointInterval: 4))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, viewChangeTimeoutTicks: .max))
        == .invalidViewChangeTimeout(.max))
    #expect(error(ProtocolConfiguration(replicaCount: 3, maxBatchSize: 0)) == .invalidBatchSize(0))
    #expect(error(ProtocolConfiguration(replicaCount: 3, maxInFlight: 0)) == .invalidInFlight(0))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, windowSize: 512, maxInFlight: 513))
        == .invalidInFlight(513))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, trinxInstances: [0, 1]))
        == .trinxInstanceCount(expected: 3, got: 2))
    #expect(
      error(ProtocolConfiguration(replicaCount: 3, trinxInstances: [0, 1, 1]))
        == .duplicateTrInXInstance)
    #expect(error(ProtocolConfiguration(replicaCount: 3)) == nil)
  }
}
