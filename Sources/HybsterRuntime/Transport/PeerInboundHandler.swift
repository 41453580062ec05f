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
    case .hello, .challenge, .proof, .request, .reply, .refused:
      logger.notice("unexpected frame on replica connection from \(peer); closing")
      context.close(promise: nil)
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    logger.notice("replica connection error: \(error); closing")
    context.close(promise: nil)
  }
}
