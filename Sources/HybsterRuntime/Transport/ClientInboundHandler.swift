import HybsterCore
import HybsterWire
import Logging
import NIOCore

/// Reads frames from a client connection after its handshake: the proven client
/// hello, then requests of that client only.
final class ClientInboundHandler<Service: ReplicatedService>: ChannelInboundHandler {
  typealias InboundIn = WireMessage

  private let execution: ExecutionDriver<Service>
  private let configuration: ProtocolConfiguration
  private let logger: Logger
  private var client: ClientID?

  init(execution: ExecutionDriver<Service>, configuration: ProtocolConfiguration, logger: Logger) {
    self.execution = execution
    self.configuration = configuration
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
    guard case .request(let request) = message else {
      return refuse(
        context, Refusal(reason: .malformedFrame, detail: "a client sends requests only"))
    }
    guard request.client == client else {
      return refuse(
        context,
        Refusal(
          lane: request.lane, sequence: request.sequence, reason: .wrongClient,
          detail: "request of client \(request.client) on the connection of client \(client)"))
    }
    if let (reason, detail) = limitExceeded(by: request) {
      return answer(
        context,
        Refusal(lane: request.lane, sequence: request.sequence, reason: reason, detail: detail))
    }
    execution.receive(request)
  }

  /// The group limit `request` exceeds, if any (``ProtocolConfiguration/refusal(of:)``),
  /// as a REFUSED reason and what to tell the client.
  private func limitExceeded(by request: Request) -> (Refusal.Reason, String)? {
    switch configuration.refusal(of: request) {
    case .operationTooLarge(let size)?:
      (
        .operationTooLarge,
        "operation of \(size) bytes; this group's maxOperationSize is "
          + "\(configuration.maxOperationSize)"
      )
    case .laneOutOfRange(let lane)?:
      (
        .laneOutOfRange,
        "lane \(lane); this group's maxLanesPerClient is \(configuration.maxLanesPerClient)"
      )
    default: nil
    }
  }

  /// Tells the client why its request is refused; the connection stays open.
  private func answer(_ context: ChannelHandlerContext, _ refusal: Refusal) {
    context.writeAndFlush(NIOAny(InboundHandshake.frame(.refused(refusal), context)), promise: nil)
  }

  /// Tells the client why and closes the connection.
  private func refuse(_ context: ChannelHandlerContext, _ refusal: Refusal) {
    logger.notice("refused client \(client.map { "\($0)" } ?? "?"): \(refusal.detail); closing")
    answer(context, refusal)
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    if let client { execution.unregister(client: client, channel: context.channel) }
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    guard let wireError = error as? WireError else {
      logger.notice("client connection error: \(error); closing")
      return context.close(promise: nil)
    }
    refuse(context, Refusal(reason: .malformedFrame, detail: "\(wireError)"))
  }
}
