import Foundation
import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TrInX

/// A follower that was down while the others passed several checkpoints restarts
/// from its counter reservation, catches up by state transfer (§5.2.2) and then
/// carries the quorum (§5.1 restarts, §5.2 f+1 = 2 of 3).
@Suite("Restart and state transfer", .serialized)
struct StateTransferClusterTests {
  @Test(
    "a restarted follower catches up by state transfer and then completes the quorum (1 and 2 pillars)",
    arguments: [1, 2])
  func restartedFollowerCatchesUp(pillars: Int) async throws {
    // K = 8P, W = 32P, one request per instance (with P pillars, the others fill
    // each gap with an empty one): 80 requests pass ten checkpoints.
    let keys = ClusterSetup.generate(
      try LoopbackClusterTests.cluster(replicas: 3, service: .keyValue, batch: 1, pillars: pillars))
    let config = keys.config
    // Removed at the end once every replica stopped (a replica that cannot write its
    // data directory stops its process, here the test runner's); a failed run leaves it.
    let dataDirectory = NSTemporaryDirectory() + "hybster-restart-\(UUID().uuidString)"
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let installed = Mutex<[ReplicaNode.StateInstalled]>([])
    let options = ReplicaNode.Options(
      dataDirectory: dataDirectory, reservationStep: 16,
      // Default (256 KiB) chunks: the snapshot crosses in three, each larger than a
      // connection's write buffer.
      stateTransfer: StateTransferOptions(timeoutTicks: 10),
      onStateInstalled: { event in installed.withLock { $0.append(event) } })
    func start(_ id: ReplicaID) throws -> Task<Void, any Error> {
      let node = try ReplicaNode(
        config: config, id: id, keys: keys.replicas[Int(id)], clients: keys.directory,
        logger: logger, options: options)
      return Task { try await node.run() }
    }
    var tasks = try (0..<3).map { try start(ReplicaID($0)) }
    defer { for task in tasks { task.cancel() } }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let client = HybsterClient(
      config: config, credentials: try keys.credentials(), lanes: 1,
      eventLoopGroup: group, connectTimeout: .seconds(180))
    try await client.connect()
    func run(_ op: KeyValueOperation) async throws -> KeyValueResult {
      try KeyValueResult.decode(try await client.submit(op.encode()))
    }
    func key(_ text: String) -> [UInt8] { Array(text.utf8) }

    for i in 0..<20 {
      #expect(try await run(.put(key: key("a\(i % 5)"), value: [UInt8(i)])) == .ok)
    }

    // Follower 2 goes down (its process would be killed: nothing is saved on the way).
    tasks[2].cancel()
    _ = await tasks[2].result
    let reservationPath = ReplicaNode.Options.reservationPath(in: dataDirectory, replica: 2)
    let writer = FileReservationWriter(
      path: reservationPath, instance: config.protocolParameters.trinxInstance(of: 2, pillar: 0),
      key: try keys.replicas[2].groupKeyBytes())
    let reservedBeforeRestart = try #require(try writer.load())
    // At least the reservation written at startup; more if its COMMITs passed it.
    #expect(reservedBeforeRestart.high == 0 && reservedBeforeRestart.low >= 16)

    // A 600 KiB value makes the snapshot larger than a connection's write buffer:
    // serving it used to leave the link unflushed for good (issue 11, item 2).
    let big = (0..<600 * 1024).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    #expect(try await run(.put(key: key("big"), value: big)) == .ok)
    for i in 0..<80 {
      #expect(try await run(.put(key: key("d\(i % 10)"), value: [UInt8(i)])) == .ok)
    }

    // Restart from the reservation file, with the same keys.
    installed.withLock { $0.removeAll() }
    let restart = ContinuousClock.now
    tasks[2] = try start(2)
    while installed.withLock({ $0.isEmpty }) {
      guard ContinuousClock.now - restart < .seconds(90) else {
        Issue.record("the restarted follower did not catch up within 90 s")
        return
      }
      try await Task.sleep(for: .milliseconds(10))
    }
    let catchUp = ContinuousClock.now - restart
    let event = installed.withLock { $0[0] }
    #expect(event.order >= 64, "caught up to a checkpoint passed while it was down")
    #expect(event.order > reservedBeforeRestart.low)
    #expect(event.order % config.protocolParameters.checkpointInterval == 0)
    #expect(try #require(try writer.load()) > reservedBeforeRestart)
    print(
      "state transfer: restart to installed in \(catchUp), checkpoint \(event.order), \(event.bytes) bytes in \(event.milliseconds) ms, \(event.attempts) attempt(s)"
    )

    // Now the other follower goes down: only 0 and the restarted 2 remain, so every
    // request below needs the restarted replica's COMMIT and its matching reply.
    tasks[1].cancel()
    _ = await tasks[1].result
    #expect(try await run(.get(key: key("d3"))) == .value([73]))
    #expect(try await run(.get(key: key("a4"))) == .value([19]))
    #expect(try await run(.get(key: key("big"))) == .value(big))
    #expect(event.bytes > 600 * 1024)
    for i in 0..<20 {
      #expect(try await run(.put(key: key("e\(i % 4)"), value: [UInt8(i)])) == .ok)
    }
    #expect(try await run(.get(key: key("e1"))) == .value([17]))
    print("after catch-up: 22 requests completed with replica 1 down")

    await client.shutdown()
    try await group.shutdownGracefully()
    for task in tasks { task.cancel() }
    for task in tasks { _ = await task.result }
    try? FileManager.default.removeItem(atPath: dataDirectory)
  }
}
