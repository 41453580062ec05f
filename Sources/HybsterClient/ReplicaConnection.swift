import HybsterCore
import HybsterRuntime
import HybsterWire
import NIOCore
import NIOPosix

/// A client's connection to one replica's client port, reconnecting with backoff.
final class ReplicaConnection {
  let replica: ReplicaID
  private let address: ClusterConfig.ReplicaAddress
  private let client: ClientID
  private let eventLoop: any EventLoop
  private let onReply: (Reply) -> Void
  private(set) var channel: (any Channel)?
  private var closed = false
  private var dirty = false
  private var backoff: TimeAmount = .milliseconds(20)
  var onConnect: (() -> Void)?

  init(
    replica: ReplicaID, address: ClusterConfig.ReplicaAddress, client: ClientID,
    eventLoop: any EventLoop, onReply: @escaping (Reply) -> Void
  ) {
    self.replica = replica
    self.address = address
    self.client = client
    self.eventLoop = eventLoop
    self.onReply = onReply
  }

  func start() { connect() }

  private func connect() {
    guard !closed else { return }
    let box = UnsafeClientTransfer(self)
    ClientBootstrap(group: eventLoop)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelOption(.connectTimeout, value: .seconds(2))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(FrameDecoder()), ReplyHandler(connection: box.value))
        }
      }
      .connect(host: address.host, port: address.clientPort)
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
    backoff = .milliseconds(20)
    var buffer = channel.allocator.buffer(capacity: 16)
    WireCodec.encode(.hello(Hello(role: .client(client))), into: &buffer)
    channel.writeAndFlush(buffer, promise: nil)
    let box = UnsafeClientTransfer(self)
    channel.closeFuture.whenComplete { _ in
      guard box.value.channel === channel else { return }
      box.value.channel = nil
      box.value.scheduleReconnect()
    }
    onConnect?()
  }

  private func scheduleReconnect() {
    guard !closed else { return }
    let delay = backoff
    backoff = min(backoff * 2, .seconds(1))
    let box = UnsafeClientTransfer(self)
    eventLoop.scheduleTask(in: delay) { box.value.connect() }
  }

  fileprivate func received(_ reply: Reply) { onReply(reply) }

  /// Queues a frame; returns whether the connection needs a flush this turn.
  func write(_ frame: ByteBuffer) -> Bool {
    guard let channel, channel.isWritable else { return false }
    channel.write(frame, promise: nil)
    if dirty { return false }
    dirty = true
    return true
  }

  func flush() {
    guard dirty else { return }
    dirty = false
    channel?.flush()
  }

  func close() {
    closed = true
    channel?.close(promise: nil)
    channel = nil
  }
}

private final class ReplyHandler: ChannelInboundHandler {
  typealias InboundIn = WireMessage
  private let connection: ReplicaConnection

  init(connection: ReplicaConnection) { self.connection = connection }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .reply(let reply): connection.received(reply)
    case .hello: break
    default: context.close(promise: nil)  // a replica sends clients nothing else
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}

/// Moves a loop-confined reference through a `@Sendable` closure on the same loop.
struct UnsafeClientTransfer<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
