import HybsterWire
import NIOCore
import NIOPosix

/// An outbound TCP connection that opens with a handshake and reconnects with
/// backoff: the link from a replica to a peer, and from a client to a replica. It
/// sends a HELLO, answers the peer's CHALLENGE with a PROOF of the identity the
/// hello claims (issue 11), and only then counts as connected. Frames written
/// before that, while disconnected, or while the socket's send buffer is full, are
/// dropped: the protocol resends what matters (STATUS, §5.2.2; client
/// retransmission), and a peer that does not read must not make us buffer without
/// bound. The send buffer holds up to ``sendBufferLimit`` bytes: a peer that reads,
/// only more slowly than we write for a while (a follower of a loaded leader), must
/// not lose frames it would then need a tick or a state transfer to recover.
/// Confined to its loop.
package final class OutboundConnection {
  private let host: String
  private let port: Int
  private let hello: Hello
  private let prove: @Sendable (HandshakeChallenge) -> HandshakeProof
  private let eventLoop: any EventLoop
  private let pipeline: @Sendable (any Channel) throws -> Void
  private let initialBackoff: TimeAmount
  private let sendBufferLimit: Int
  private var backoff: TimeAmount
  private var channel: (any Channel)?
  /// A connection whose handshake is under way.
  private var pending: (any Channel)?
  private var dirty = false
  private var closed = false
  /// Frames dropped because the connection was down or not writable.
  package private(set) var dropped = 0
  /// Called on the loop after every (re)connection, once the handshake completed.
  package var onConnect: (() -> Void)?
  /// Called on the loop after a connection closed.
  package var onClose: (() -> Void)?

  /// Creates a connection to `host:port` that proves `hello`'s claim with `prove`;
  /// `pipeline` adds the handlers for the decoded frames that follow the handshake
  /// (called on the channel's loop for every connection). Frames are dropped once
  /// `sendBufferLimit` bytes wait to be sent, until half of them went out.
  package init(
    host: String, port: Int, hello: Hello,
    prove: @escaping @Sendable (HandshakeChallenge) -> HandshakeProof, eventLoop: any EventLoop,
    initialBackoff: TimeAmount = .milliseconds(50), sendBufferLimit: Int = 1 << 20,
    pipeline: @escaping @Sendable (any Channel) throws -> Void = { _ in }
  ) {
    self.host = host
    self.port = port
    self.hello = hello
    self.prove = prove
    self.eventLoop = eventLoop
    self.pipeline = pipeline
    self.initialBackoff = initialBackoff
    self.sendBufferLimit = max(sendBufferLimit, 2)
    self.backoff = initialBackoff
  }

  /// Starts connecting.
  package func start() { connect() }

  /// Whether a connection is open.
  package var isConnected: Bool { channel != nil }

  /// Whether a frame written now would be queued rather than dropped.
  package var isWritable: Bool { channel?.isWritable ?? false }

  private func connect() {
    guard !closed else { return }
    let box = UnsafeTransfer(self)
    let pipeline = self.pipeline
    let prove = self.prove
    ClientBootstrap(group: eventLoop)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelOption(
        .writeBufferWaterMark, value: .init(low: sendBufferLimit / 2, high: sendBufferLimit)
      )
      .channelOption(.connectTimeout, value: .seconds(2))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(FrameDecoder()),
            ChallengeResponder(prove: prove) { box.value.authenticated(channel) })
          try pipeline(channel)
        }
      }
      .connect(host: host, port: port)
      .whenComplete { result in
        switch result {
        case .success(let channel): box.value.connected(channel)
        case .failure: box.value.scheduleReconnect()
        }
      }
  }

  private func connected(_ channel: any Channel) {
    guard !closed else {
      channel.close(promise: nil)
      return
    }
    pending = channel
    var buffer = channel.allocator.buffer(capacity: 16)
    WireCodec.encode(.hello(hello), into: &buffer)
    channel.writeAndFlush(buffer, promise: nil)
    let box = UnsafeTransfer(self)
    channel.closeFuture.whenComplete { _ in
      let connection = box.value
      if connection.pending === channel {
        connection.pending = nil
        connection.scheduleReconnect()
      }
      guard connection.channel === channel else { return }
      connection.channel = nil
      connection.onClose?()
      connection.scheduleReconnect()
    }
  }

  /// The peer took our proof (it would have closed the connection otherwise).
  private func authenticated(_ channel: any Channel) {
    guard pending === channel else { return }
    pending = nil
    self.channel = channel
    backoff = initialBackoff
    onConnect?()
  }

  private func scheduleReconnect() {
    guard !closed else { return }
    let delay = backoff
    backoff = min(backoff * 2, .seconds(1))
    let box = UnsafeTransfer(self)
    eventLoop.scheduleTask(in: delay) { box.value.connect() }
  }

  /// Queues an encoded frame; returns whether the connection needs a flush.
  package func write(_ frame: ByteBuffer) -> Bool {
    guard let channel, channel.isWritable else {
      dropped += 1
      return false
    }
    channel.write(frame, promise: nil)
    if dirty { return false }
    dirty = true
    return true
  }

  /// Flushes queued frames.
  package func flush() {
    guard dirty else { return }
    dirty = false
    channel?.flush()
  }

  /// Closes the connection for good.
  package func close() {
    closed = true
    channel?.close(promise: nil)
    pending?.close(promise: nil)
    channel = nil
    pending = nil
  }
}

/// Answers the one CHALLENGE a connection receives with a PROOF, then passes every
/// later frame on. A second challenge, or a frame before the first, closes the
/// connection.
private final class ChallengeResponder: ChannelInboundHandler {
  typealias InboundIn = WireMessage
  typealias InboundOut = WireMessage
  private let prove: (HandshakeChallenge) -> HandshakeProof
  private let authenticated: () -> Void
  private var answered = false

  init(
    prove: @escaping (HandshakeChallenge) -> HandshakeProof, authenticated: @escaping () -> Void
  ) {
    self.prove = prove
    self.authenticated = authenticated
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let message = unwrapInboundIn(data)
    if answered {
      if case .challenge = message { return context.close(promise: nil) }
      return context.fireChannelRead(data)
    }
    guard case .challenge(let challenge) = message else { return context.close(promise: nil) }
    answered = true
    let proof = WireMessage.proof(prove(challenge))
    var buffer = context.channel.allocator.buffer(
      capacity: WireCodec.lengthFieldBytes + WireCodec.frameLength(of: proof))
    WireCodec.encode(proof, into: &buffer)
    context.writeAndFlush(NIOAny(buffer), promise: nil)
    authenticated()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
