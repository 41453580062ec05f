import Foundation
import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import HybsterWire
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TrInX

/// Issue 11, item 3, and issue 13: a connection carries nothing until its peer proved
/// the identity its HELLO claims; strangers and clients the group does not admit are
/// refused — clients with a REFUSED saying why — with few log lines, within limits.
@Suite("Authenticated connections (issue 11)", .serialized)
struct AuthenticatedConnectionTests {
  /// Records the frames a raw connection receives.
  final class Recorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = WireMessage
    let frames = Mutex<[WireMessage]>([])
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      let message = unwrapInboundIn(data)
      frames.withLock { $0.append(message) }
    }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
      context.close(promise: nil)
    }
    var challenge: HandshakeChallenge? {
      frames.withLock { frames in
        frames.lazy.compactMap { if case .challenge(let c) = $0 { c } else { nil } }.first
      }
    }
  }

  /// A raw connection to `port` on loopback.
  struct Raw {
    let channel: any Channel
    let recorder: Recorder

    init(port: Int, group: any EventLoopGroup) async throws {
      let recorder = Recorder()
      channel = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(
              ByteToMessageHandler(FrameDecoder()), recorder)
          }
        }
        .connect(host: "127.0.0.1", port: port).get()
      self.recorder = recorder
    }

    func send(_ message: WireMessage) async throws {
      var buffer = channel.allocator.buffer(capacity: 64)
      WireCodec.encode(message, into: &buffer)
      try await channel.writeAndFlush(buffer)
    }

    func sendRaw(_ bytes: [UInt8]) async throws {
      try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    /// Waits for the challenge (up to 20 s: CI machines are slow under load).
    func challenge() async throws -> HandshakeChallenge {
      for _ in 0..<2000 {
        if let challenge = recorder.challenge { return challenge }
        try await Task.sleep(for: .milliseconds(10))
      }
      throw ChannelError.ioOnClosedChannel
    }

    /// Completes the handshake as the client of `credentials` to replica 0 and
    /// checks that the connection stays open.
    func prove(as credentials: ClientCredentials) async throws {
      try await send(.hello(Hello(role: .client(credentials.client))))
      let challenge = try await challenge()
      try await send(
        .proof(
          HandshakeProof(mac: credentials.connectionProof(challenge: challenge.nonce, replica: 0))))
      try await Task.sleep(for: .milliseconds(100))
      #expect(channel.isActive)
    }

    /// Whether the replica closed the connection within `limit`.
    func closed(within limit: Duration) async -> Bool {
      let start = ContinuousClock.now
      while ContinuousClock.now - start < limit {
        if !channel.isActive { return true }
        try? await Task.sleep(for: .milliseconds(10))
      }
      return !channel.isActive
    }
  }

  @Test("strangers are refused on client and peer ports; a proven client gets its replies")
  func strangersAreRefused() async throws {
    let keys = ClusterSetup.generate(
      try LoopbackClusterTests.cluster(replicas: 3, service: .keyValue), clients: 2)
    let config = keys.config
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let options = ReplicaNode.Options(
      clientConnections: ConnectionLimits(
        // Handshakes get 30 s: the other suites may starve this one of CPU for a
        // while (two cores, suites in parallel), and a proof sent late must still
        // count.
        total: 64, perAddress: 4, handshakeTimeout: .seconds(30), frameTimeout: .seconds(2)))
    let nodes = try keys.replicas.map {
      try ReplicaNode(
        config: config, id: $0.replica, keys: $0, clients: keys.directory, logger: logger,
        options: options)
    }
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      for node in nodes { tasks.addTask { try await node.run() } }
      defer { tasks.cancelAll() }
      let credentials = try keys.credentials(0)
      let client = HybsterClient(
        config: config, credentials: credentials, lanes: 1, eventLoopGroup: group,
        connectTimeout: .seconds(180))
      try await client.connect()
      let put = KeyValueOperation.put(key: [1], value: [2]).encode()
      #expect(try KeyValueResult.decode(try await client.submit(put)) == .ok)
      let clientPort = config.replicas[0].clientPort
      let peerPort = config.replicas[0].peerPort

      // An admitted client claiming another client's id, proving with its own key
      // (issue 13): refused with a clear reason and closed, and no reply reached it
      // while the real client went on.
      let other = try keys.credentials(1)
      let impostor = try await Raw(port: clientPort, group: group)
      try await impostor.send(.hello(Hello(role: .client(credentials.client))))
      let nonce = try await impostor.challenge().nonce
      try await impostor.send(
        .proof(HandshakeProof(mac: other.connectionProof(challenge: nonce, replica: 0))))
      #expect(try KeyValueResult.decode(try await client.submit(put)) == .ok)
      #expect(await impostor.closed(within: .seconds(30)))
      let answers = impostor.recorder.frames.withLock { $0 }
      #expect(answers.count == 2)
      guard case .refused(let refusal) = answers.last else {
        Issue.record("no REFUSED for a forged identity: \(answers)")
        return
      }
      #expect(refusal.reason == .invalidProof)
      #expect(refusal.detail.contains("client \(credentials.client)"))

      // A client the group does not admit: its request fails with the replicas' reason.
      let stranger = HybsterClient(
        config: config, credentials: try config.credentials(for: .generate()), lanes: 1,
        eventLoopGroup: group, giveUpAfter: .seconds(20), connectTimeout: .seconds(60))
      try await stranger.connect()
      do {
        _ = try await stranger.submit(put)
        Issue.record("a client the group does not admit was served")
      } catch let error as HybsterClientError {
        guard case .refused(let reason) = error else {
          Issue.record("expected a refusal, got \(error)")
          return
        }
        #expect(reason.contains("not admitted"))
      }
      await stranger.shutdown()

      // A request before the proof: closed.
      let eager = try await Raw(port: clientPort, group: group)
      try await eager.send(.hello(Hello(role: .client(8))))
      try await eager.send(.request(credentials.request(lane: 0, sequence: 1, operation: put)))
      #expect(await eager.closed(within: .seconds(30)))

      // A proven client that sends another client's request: refused and closed.
      let proven = try await Raw(port: clientPort, group: group)
      try await proven.prove(as: other)
      try await proven.send(.request(credentials.request(lane: 0, sequence: 1, operation: put)))
      #expect(await proven.closed(within: .seconds(30)))
      #expect(
        proven.recorder.frames.withLock { frames in
          frames.contains {
            if case .refused(let r) = $0 { r.reason == .wrongClient } else { false }
          }
        })

      // A proven client declaring a frame larger than one request of the largest
      // operation: refused at its length field.
      let greedy = try await Raw(port: clientPort, group: group)
      try await greedy.prove(as: other)
      try await greedy.sendRaw([0x00, 0x20, 0x00, 0x00, 1, 0x02])  // 2 MiB
      #expect(await greedy.closed(within: .seconds(30)))

      // A proven client that sends a frame slowly: closed when it is not complete in
      // time, however many bytes trickle in.
      let slow = try await Raw(port: clientPort, group: group)
      try await slow.prove(as: other)
      try await slow.sendRaw([0x00, 0x00, 0x04, 0x00, 1])  // 1 KiB
      for _ in 0..<8 where slow.channel.isActive {
        try? await slow.sendRaw([0x02])
        try await Task.sleep(for: .milliseconds(500))
      }
      #expect(await slow.closed(within: .seconds(30)))

      // A frame declaring 16 MiB before the handshake: refused at its length field.
      let big = try await Raw(port: clientPort, group: group)
      try await big.sendRaw([0x01, 0x00, 0x00, 0x00, 1, 0x02])
      #expect(await big.closed(within: .seconds(30)))

      // Silence: closed at the handshake timeout.
      let silent = try await Raw(port: clientPort, group: group)
      #expect(await silent.closed(within: .seconds(90)))

      // A stranger claiming replica 1 on a peer port: a wrong proof, or a STATUS in its
      // place, closes the connection.
      let fakeReplica = try await Raw(port: peerPort, group: group)
      try await fakeReplica.send(.hello(Hello(role: .replica(1))))
      _ = try await fakeReplica.challenge()
      try await fakeReplica.send(
        .protocolMessage(.status(StatusMessage(replica: 1, view: 0, nextDelivery: 1))))
      #expect(await fakeReplica.closed(within: .seconds(30)))

      // At most 4 connections from one address: the client holds one; of four more
      // (open, mid-handshake) the last is closed at once.
      var held: [Raw] = []
      for _ in 0..<4 { held.append(try await Raw(port: clientPort, group: group)) }
      #expect(held[0..<3].allSatisfy { $0.channel.isActive })
      #expect(await held[3].closed(within: .milliseconds(2500)))
      for raw in held { try? await raw.channel.close() }

      // The cluster still serves the real client.
      #expect(try KeyValueResult.decode(try await client.submit(put)) == .ok)
      await client.shutdown()
    }
    try await group.shutdownGracefully()
  }
}
