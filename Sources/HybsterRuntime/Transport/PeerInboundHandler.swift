import HybsterCore
import HybsterWire
import Logging
import NIOCore

/// Reads frames from a peer replica's inbound connection, after its handshake
/// (``InboundHandshake``) proved the replica's hello, which arrives first. Every
/// later frame must be a protocol message or a state-transfer message. Anything
/// else, or a malformed frame, closes the connection (the peer reconnects); messages
/// are verified by the pillar, never trusted because of the connection.
final class PeerInboundHandler: ChannelInboundHandler {
  typealias InboundIn = WireMessage

  private let ordering: OrderingDriver
  private let logger: Logger
  private var peer: ReplicaID?

  init(ordering: OrderingDriver, logger: Logger) {
    self.ordering = ordering
    self.logger = logger
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let message = unwrapInboundIn(data)
    guard let peer else {
      // The handshake passes on only a proven replica hello.
      guard case .hello(let hello) = message, case .replica(let id) = hello.role else {
        context.close(promise: nil)
        return
      }
      self.peer = id
      return
    }
    switch message {
    case .protocolMessage(let protocolMessage):
      ordering.receive(protocolMessage, from: peer)
    case .stateRequest(let request):
      ordering.receiveStateRequest(request, from: peer)
    case .stateChunk(let chunk):
      ordering.receiveStateChunk(chunk, from: peer)
    case .hello, .challenge, .proof, .request, .reply:
      logger.notice("unexpected frame on replica connection from \(peer); closing")
      context.close(promise: nil)
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    logger.notice("replica connection error: \(error); closing")
    context.close(promise: nil)
  }
}

/// Reads frames from a client connection after its handshake: the proven client
/// hello, then requests of that client only.
final class ClientInboundHandler<Service: ReplicatedService>: ChannelInboundHandler {
  typealias InboundIn = WireMessage

  private let execution: ExecutionDriver<Service>
  private let logger: Logger
  private var client: ClientID?

  init(execution: ExecutionDriver<Service>, logger: Logger) {
    self.execution = execution
    self.logger = logger
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let message = unwrapInboundIn(data)
    guard let client else {
      guard case .hello(let hello) = message, case .client(let id) = hello.role else {
        context.close(promise: nil)
        return
      }
      client = id
      execution.register(client: id, channel: context.channel)
      return
    }
    guard case .request(let request) = message, request.client == client else {
      logger.notice("unexpected frame from client \(client); closing")
      context.close(promise: nil)
      return
    }
    execution.receive(request)
  }

  func channelInactive(context: ChannelHandlerContext) {
    if let client { execution.unregister(client: client, channel: context.channel) }
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    logger.notice("client connection error: \(error); closing")
    context.close(promise: nil)
  }
}
