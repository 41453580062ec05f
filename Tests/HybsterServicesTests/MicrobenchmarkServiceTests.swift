import HybsterCore
import Testing

@testable import HybsterServices

@Suite("MicrobenchmarkService (§6.2)")
struct MicrobenchmarkServiceTests {
  @Test("replies are empty by default and ignore the payload")
  func defaultReply() {
    var service = MicrobenchmarkService()
    #expect(service.execute([]) == [])
    #expect(service.execute(Array(repeating: 1, count: 4096)) == [])
    #expect(service.operationsExecuted == 2)
  }

  @Test("replies have the configured size", arguments: [0, 1, 10, 4096])
  func configuredReply(size: Int) {
    var service = MicrobenchmarkService(replySize: size)
    #expect(service.execute([1, 2, 3]).count == size)
    #expect(service.execute([]).count == size)
  }

  @Test("the snapshot is the operation count and restores")
  func snapshotRoundTrip() throws {
    var service = MicrobenchmarkService()
    for _ in 0..<300 { _ = service.execute([9]) }
    let snapshot = service.snapshot()
    #expect(snapshot == [1, 0, 0, 0, 0, 0, 0, 0x01, 0x2C])
    var other = MicrobenchmarkService(replySize: 3)
    #expect(other.snapshot() != snapshot)
    try other.restore(from: snapshot)
    #expect(other.operationsExecuted == 300)
    #expect(other.snapshot() == snapshot)
  }

  @Test("restore rejects malformed snapshots and keeps the count")
  func restoreRejectsGarbage() {
    var service = MicrobenchmarkService()
    _ = service.execute([])
    let good = MicrobenchmarkService().snapshot()
    let bad: [[UInt8]] = [[], [1], Array(good.dropLast()), good + [0], [2] + good.dropFirst()]
    for bad in bad {
      #expect(throws: ServiceDecodingError.self) { try service.restore(from: bad) }
      #expect(service.operationsExecuted == 1)
    }
  }

  @Test("inside an execution stage, checkpoints differ by operation count")
  func checkpointsAreMeaningful() throws {
    let client = try ClientSecretKeys(
      signing: Array(repeating: 2, count: 32), agreement: Array(repeating: 3, count: 32))
    let keyring = try ClientKeyring(
      replica: 0, agreementKey: Array(repeating: 1, count: 32),
      directory: ClientDirectory([client.publicKeys]))
    var a = ExecutionStage(
      service: MicrobenchmarkService(), replica: 0, checkpointInterval: 1, keyring: keyring)
    var b = a
    let credentials = try ClientCredentials(
      secret: client, replicaKeys: [keyring.publicKey], mode: .signatures)
    var replies: [Reply] = []
    let one = Batch(requests: [credentials.request(lane: 0, sequence: 1, operation: [])])
    let two = Batch(requests: [
      credentials.request(lane: 0, sequence: 1, operation: []),
      credentials.request(lane: 1, sequence: 1, operation: []),
    ])
    let sa = a.execute(order: 1, view: 0, batch: one, replies: &replies)
    let sb = b.execute(order: 1, view: 0, batch: two, replies: &replies)
    #expect(sa != nil && sb != nil)
    #expect(sa?.serviceState != sb?.serviceState)
  }
}
