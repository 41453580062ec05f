import HybsterCore
import HybsterWire
import Logging
import NIOCore
import NIOPosix

/// The outbound connection to one peer replica, reconnecting with backoff. Messages
/// written while disconnected, or while the socket's send buffer is full, are
/// dropped: the protocol resends what matters (STATUS, §5.2.2), and a peer that
/// does not read must not make us buffer without bound.
final class PeerLink {
  let peer: ReplicaID
  private let address: ClusterConfig.ReplicaAddress
  private let own: ReplicaID
  private let eventLoop: any EventLoop
  private let logger: Logger
  private var channel: (any Channel)?
  private var dirty = false
  private var closed = false
  private var backoff: TimeAmount = .milliseconds(50)
  private(set) var dropped = 0
  /// Called on the event loop whenever the connection (re)becomes writable: bulk
  /// senders (state transfer) write their next piece then instead of buffering.
  var onWritable: (() -> Void)?

  init(
    peer: ReplicaID, address: ClusterConfig.ReplicaAddress, own: ReplicaID,
    eventLoop: any EventLoop, logger: Logger
  ) {
    self.peer = peer
    self.address = address
    self.own = own
    self.eventLoop = eventLoop
    self.logger = logger
  }

  /// Starts connecting.
  func start() { connect() }

  private func connect() {
    guard !closed else { return }
    let box = UnsafeTransfer(self)
    ClientBootstrap(group: eventLoop)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(
            WritabilityHandler { box.value.onWritable?() })
        }
      }
      .channelOption(.connectTimeout, value: .seconds(2))
      .connect(host: address.host, port: address.peerPort)
      .whenComplete { result in
        let link = box.value
        switch result {
        case .success(let channel):
          link.connected(channel)
        case .failure:
          link.scheduleReconnect()
        }
      }
  }

  private func connected(_ channel: any Channel) {
    guard !closed else {
      channel.close(promise: nil)
      return
    }
    self.channel = channel
    backoff = .milliseconds(50)
    logger.info("connected to replica \(peer)")
    var buffer = channel.allocator.buffer(capacity: 16)
    WireCodec.encode(.hello(Hello(role: .replica(own))), into: &buffer)
    channel.writeAndFlush(buffer, promise: nil)
    onWritable?()
    let box = UnsafeTransfer(self)
    channel.closeFuture.whenComplete { _ in
      let link = box.value
      guard link.channel === channel else { return }
      link.channel = nil
      link.logger.info("connection to replica \(link.peer) closed")
      link.scheduleReconnect()
    }
  }

  private func scheduleReconnect() {
    guard !closed else { return }
    let delay = backoff
    backoff = min(backoff * 2, .seconds(1))
    let box = UnsafeTransfer(self)
    eventLoop.scheduleTask(in: delay) { box.value.connect() }
  }

  /// Whether a frame written now would be queued rather than dropped.
  var isWritable: Bool { channel?.isWritable ?? false }

  /// Queues an encoded frame; returns whether the link needs a flush.
  func write(_ frame: ByteBuffer) -> Bool {
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
  func flush() {
    guard dirty else { return }
    dirty = false
    channel?.flush()
  }

  /// Closes the link for good.
  func close() {
    closed = true
    channel?.close(promise: nil)
    channel = nil
  }
}

/// Reports when an outbound peer connection becomes writable again.
final class WritabilityHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  private let writable: () -> Void

  init(writable: @escaping () -> Void) { self.writable = writable }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable { writable() }
    context.fireChannelWritabilityChanged()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    // Replicas send nothing back on a connection they accepted; discard.
  }
}
