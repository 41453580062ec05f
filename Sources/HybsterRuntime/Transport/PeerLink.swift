import HybsterCore
import HybsterWire
import Logging
import NIOCore

/// The outbound connection to one peer replica (an ``OutboundConnection`` that
/// proves this replica's identity, logs its state and reports writability to bulk
/// senders). Its send buffer holds one window's byte budget
/// (``HybsterCore/ProtocolConfiguration/maxWindowBytes``): what a leader may have
/// proposed and not yet seen committed.
final class PeerLink {
  let peer: ReplicaID
  private let connection: OutboundConnection
  /// Called on the event loop whenever the connection (re)becomes writable: bulk
  /// senders (state transfer) write their next piece then instead of buffering.
  var onWritable: (() -> Void)?

  init(
    peer: ReplicaID, host: String, port: Int, authentication: PeerAuthentication,
    sendBufferLimit: Int, eventLoop: any EventLoop, logger: Logger
  ) {
    self.peer = peer
    let writable = WritableRelay()
    connection = OutboundConnection(
      host: host, port: port, hello: Hello(role: .replica(authentication.replica)),
      prove: { authentication.proof(for: $0, to: peer) }, eventLoop: eventLoop,
      sendBufferLimit: sendBufferLimit
    ) { channel in
      try channel.pipeline.syncOperations.addHandler(WritabilityHandler { writable.fire() })
    }
    let box = UnsafeTransfer(self)
    writable.target = { box.value.onWritable?() }
    connection.onConnect = {
      logger.info("connected to replica \(peer)")
      box.value.onWritable?()
    }
    connection.onClose = { logger.info("connection to replica \(peer) closed") }
  }

  /// Starts connecting.
  func start() { connection.start() }

  /// Frames dropped while the link was down or full.
  var dropped: Int { connection.dropped }

  /// Whether a frame written now would be queued rather than dropped.
  var isWritable: Bool { connection.isWritable }

  /// Queues an encoded frame; returns whether the link needs a flush.
  func write(_ frame: ByteBuffer) -> Bool { connection.write(frame) }

  /// Flushes queued frames.
  func flush() { connection.flush() }

  /// Closes the link for good.
  func close() { connection.close() }
}

/// Forwards writability events from the channel (built before the link exists) to
/// the link, on the link's loop.
private final class WritableRelay: @unchecked Sendable {
  var target: (() -> Void)?
  func fire() { target?() }
}

/// Reports when an outbound peer connection becomes writable again.
final class WritabilityHandler: ChannelInboundHandler {
  typealias InboundIn = WireMessage
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
