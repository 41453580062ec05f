import HybsterRuntime
import HybsterWire
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TrInX

/// Issue 12: with SwiftNIO's default 64 KiB send buffer, a leader whose follower
/// read only a little more slowly than it wrote dropped PREPAREs; the follower then
/// waited for a tick's STATUS or fell behind a stable checkpoint and fetched the
/// state, and `hybster local` with 384 or more requests outstanding fell from about
/// 40,000 to 10,000 ops/s with its CPU idle. An ``OutboundConnection`` now queues up
/// to its `sendBufferLimit` and drops only beyond it.
@Suite("Outbound connections: the send buffer")
struct OutboundConnectionTests {
  static let frameBytes = 64 << 10
  static let frames = 256  // 16 MiB: far more than the kernel buffers of a loopback socket

  @Test("a peer that stops reading loses no frame below the limit and gets them all later")
  func slowReaderLosesNothing() async throws {
    let result = try await Self.writeToStalledPeer(sendBufferLimit: 64 << 20)
    #expect(result.dropped == 0)
    #expect(result.received >= Self.frames * Self.frameBytes)
  }

  @Test("beyond the limit frames are dropped: a peer that never reads cannot make us buffer")
  func limitStillBounds() async throws {
    let result = try await Self.writeToStalledPeer(sendBufferLimit: 64 << 10)
    #expect(result.dropped > 0)
    #expect(result.dropped < Self.frames)
  }

  /// Connects to a server that challenges the connection and then reads nothing,
  /// writes ``frames`` frames in one turn, and then lets the server read.
  static func writeToStalledPeer(sendBufferLimit: Int) async throws -> (
    dropped: Int, received: Int
  ) {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let peer = StalledPeer()
    let server = try await ServerBootstrap(group: group)
      .childChannelOption(.autoRead, value: false)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(StalledReader(peer: peer))
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let loop = group.next()
    let connection = try await loop.submit {
      let connection = OutboundConnection(
        host: "127.0.0.1", port: server.localAddress!.port!, hello: Hello(role: .replica(1)),
        prove: { _ in HandshakeProof(mac: TrInXMAC(bytes: [UInt8](repeating: 0, count: 32))!) },
        eventLoop: loop, sendBufferLimit: sendBufferLimit)
      connection.start()
      return UnsafeTransfer(connection)
    }.get()
    for _ in 0..<500 where !(try await loop.submit { connection.value.isConnected }.get()) {
      try await Task.sleep(for: .milliseconds(10))
    }
    let dropped = try await loop.submit {
      let frame = ByteBuffer(repeating: 7, count: Self.frameBytes)
      for _ in 0..<Self.frames where connection.value.write(frame) {}
      connection.value.flush()
      return connection.value.dropped
    }.get()
    for child in peer.children.withLock({ $0 }) {
      try await child.setOption(.autoRead, value: true).get()
      child.read()
    }
    let expected = (Self.frames - dropped) * Self.frameBytes
    for _ in 0..<1_000 where peer.received.withLock({ $0 }) < expected {
      try await Task.sleep(for: .milliseconds(10))
    }
    try await loop.submit { connection.value.close() }.get()
    try await server.close()
    try await group.shutdownGracefully()
    return (dropped, peer.received.withLock { $0 })
  }
}

/// The accepted connections of the test server and the bytes they read.
private final class StalledPeer: Sendable {
  let children = Mutex<[any Channel]>([])
  let received = Mutex(0)
}

/// Sends a CHALLENGE on accept, then counts the bytes it reads (once reading is on).
private final class StalledReader: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  let peer: StalledPeer

  init(peer: StalledPeer) { self.peer = peer }

  func channelActive(context: ChannelHandlerContext) {
    peer.children.withLock { $0.append(context.channel) }
    var buffer = context.channel.allocator.buffer(capacity: 64)
    WireCodec.encode(
      .challenge(HandshakeChallenge(nonce: Array(repeating: 1, count: 32))), into: &buffer)
    context.writeAndFlush(NIOAny(buffer), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let bytes = unwrapInboundIn(data).readableBytes
    peer.received.withLock { $0 += bytes }
  }
}
