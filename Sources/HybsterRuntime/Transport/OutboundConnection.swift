import HybsterWire
import NIOCore
import NIOPosix

/// An outbound TCP connection that opens with a HELLO and reconnects with backoff:
/// the link from a replica to a peer, and from a client to a replica. Frames written
/// while disconnected, or while the socket's send buffer is full, are dropped: the
/// protocol resends what matters (STATUS, §5.2.2; client retransmission), and a peer
/// that does not read must not make us buffer without bound. Confined to its loop.
package final class OutboundConnection {
  private let host: String
  private let port: Int
  private let hello: Hello
  private let eventLoop: any EventLoop
  private let pipeline: @Sendable (any Channel) throws -> Void
  private let initialBackoff: TimeAmount
  private var backoff: TimeAmount
  private var channel: (any Channel)?
  private var dirty = false
  private var closed = false
  /// Frames dropped because the connection was down or not writable.
  package private(set) var dropped = 0
  /// Called on the loop after every (re)connection.
  package var onConnect: (() -> Void)?
  /// Called on the loop after a connection closed.
  package var onClose: (() -> Void)?

  /// Creates a connection to `host:port`; `pipeline` adds the inbound handlers
  /// (called on the channel's loop for every connection).
  package init(
    host: String, port: Int, hello: Hello, eventLoop: any EventLoop,
    initialBackoff: TimeAmount = .milliseconds(50),
    pipeline: @escaping @Sendable (any Channel) throws -> Void = { _ in }
  ) {
    self.host = host
    self.port = port
    self.hello = hello
    self.eventLoop = eventLoop
    self.pipeline = pipeline
    self.initialBackoff = initialBackoff
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
    ClientBootstrap(group: eventLoop)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelOption(.connectTimeout, value: .seconds(2))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try pipeline(channel) }
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
    self.channel = channel
    backoff = initialBackoff
    var buffer = channel.allocator.buffer(capacity: 16)
    WireCodec.encode(.hello(hello), into: &buffer)
    channel.writeAndFlush(buffer, promise: nil)
    let box = UnsafeTransfer(self)
    channel.closeFuture.whenComplete { _ in
      let connection = box.value
      guard connection.channel === channel else { return }
      connection.channel = nil
      connection.onClose?()
      connection.scheduleReconnect()
    }
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
    channel = nil
  }
}
