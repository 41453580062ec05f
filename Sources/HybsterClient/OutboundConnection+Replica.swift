import HybsterCore
import HybsterRuntime
import HybsterWire
import NIOCore

extension OutboundConnection {
  /// A client's connection to one replica's client port: proves the client's
  /// identity to the replica (issue 11) and hands every authentic-looking REPLY to
  /// `onReply` (on the connection's loop).
  static func toReplica(
    _ address: ClusterConfig.ReplicaAddress, credentials: ClientCredentials,
    eventLoop: any EventLoop, onReply: @escaping (Reply) -> Void
  ) -> OutboundConnection {
    let replies = UnsafeTransfer(onReply)
    return OutboundConnection(
      host: address.host, port: address.clientPort, hello: Hello(role: .client(credentials.client)),
      prove: {
        HandshakeProof(mac: credentials.connectionProof(challenge: $0.nonce, replica: address.id))
      },
      eventLoop: eventLoop, initialBackoff: .milliseconds(20)
    ) { channel in
      try channel.pipeline.syncOperations.addHandler(ReplyHandler(onReply: replies.value))
    }
  }
}

/// Reads REPLYs from a replica; anything else closes the connection.
private final class ReplyHandler: ChannelInboundHandler {
  typealias InboundIn = WireMessage
  private let onReply: (Reply) -> Void

  init(onReply: @escaping (Reply) -> Void) { self.onReply = onReply }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .reply(let reply): onReply(reply)
    default: context.close(promise: nil)  // a replica sends clients nothing else
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
