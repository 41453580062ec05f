import HybsterCore
import HybsterRuntime
import HybsterWire
import NIOCore

extension OutboundConnection {
  /// A client's connection to one replica's client port: proves the client's
  /// identity to the replica (issue 11) and hands every REPLY and REFUSED to
  /// `onFrame` (on the connection's loop).
  static func toReplica(
    _ address: ClusterConfig.ReplicaAddress, credentials: ClientCredentials,
    eventLoop: any EventLoop, onFrame: @escaping (ReplicaAnswer) -> Void
  ) -> OutboundConnection {
    let replies = UnsafeTransfer(onFrame)
    return OutboundConnection(
      host: address.host, port: address.clientPort, hello: Hello(role: .client(credentials.client)),
      prove: {
        HandshakeProof(mac: credentials.connectionProof(challenge: $0.nonce, replica: address.id))
      },
      eventLoop: eventLoop, initialBackoff: .milliseconds(20)
    ) { channel in
      try channel.pipeline.syncOperations.addHandler(
        ReplyHandler(replica: address.id, onFrame: replies.value))
    }
  }
}

/// What a replica sends a client.
enum ReplicaAnswer {
  case reply(Reply)
  case refused(Refusal, by: ReplicaID)
}

/// Reads REPLYs and REFUSEDs from a replica; anything else closes the connection.
private final class ReplyHandler: ChannelInboundHandler {
  typealias InboundIn = WireMessage
  private let replica: ReplicaID
  private let onFrame: (ReplicaAnswer) -> Void

  init(replica: ReplicaID, onFrame: @escaping (ReplicaAnswer) -> Void) {
    self.replica = replica
    self.onFrame = onFrame
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .reply(let reply): onFrame(.reply(reply))
    case .refused(let refusal): onFrame(.refused(refusal, by: replica))
    default: context.close(promise: nil)  // a replica sends clients nothing else
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }
}
