import HybsterCore
import HybsterWire
import NIOCore

/// The accepting side of a connection's handshake (issue 11, authenticated
/// connections): it takes a HELLO, answers with a random CHALLENGE and lets the
/// connection carry anything only once the PROOF that follows shows the HELLO's
/// claim true. Before that every frame is tiny (``WireLimits/handshake``), nothing
/// is sent but the challenge, and the connection is closed on any other frame or
/// when the handshake does not complete within the port's timeout. The next handler
/// then sees the proven HELLO first.
final class InboundHandshake: ChannelInboundHandler {
  typealias InboundIn = WireMessage
  typealias InboundOut = WireMessage

  /// Checks a connecting side's claim: whether its role may use this port, and
  /// whether a proof answers a challenge for it.
  struct Verifier: Sendable {
    var admits: @Sendable (Hello.Role) -> Bool
    var verify: @Sendable (Hello.Role, _ challenge: [UInt8], HandshakeProof) -> Bool
    /// What to tell a connecting side whose proof failed, if anything (clients are
    /// told why, issue 13; peers are not).
    var explain: @Sendable (Hello.Role) -> Refusal? = { _ in nil }
  }

  private enum State {
    case awaitingHello
    case awaitingProof(Hello, challenge: [UInt8])
    case complete
  }

  private let verifier: Verifier
  private let gate: ConnectionGate
  private let progress: HandshakeProgress
  private var state = State.awaitingHello
  private var address: String?
  private var deadline: Scheduled<Void>?

  init(verifier: Verifier, gate: ConnectionGate, progress: HandshakeProgress) {
    self.verifier = verifier
    self.gate = gate
    self.progress = progress
  }

  func channelActive(context: ChannelHandlerContext) {
    let address = context.remoteAddress?.ipAddress ?? "unknown"
    guard gate.admit(address) else {
      context.close(promise: nil)
      return
    }
    self.address = address
    let box = UnsafeTransfer(context)
    let gate = gate
    deadline = context.eventLoop.scheduleTask(in: gate.limits.handshakeTimeout) {
      gate.refused("handshake timeout (\(address))")
      box.value.close(promise: nil)
    }
    context.fireChannelActive()
  }

  func channelInactive(context: ChannelHandlerContext) {
    deadline?.cancel()
    if let address { gate.release(address) }
    address = nil
    context.fireChannelInactive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let message = unwrapInboundIn(data)
    switch state {
    case .complete:
      context.fireChannelRead(data)
    case .awaitingHello:
      guard case .hello(let hello) = message, verifier.admits(hello.role) else {
        return refuse(context, "connection without a valid hello")
      }
      var nonce = [UInt8](repeating: 0, count: HandshakeChallenge.byteCount)
      var generator = SystemRandomNumberGenerator()
      for i in nonce.indices { nonce[i] = generator.next() }
      state = .awaitingProof(hello, challenge: nonce)
      let challenge = WireMessage.challenge(HandshakeChallenge(nonce: nonce))
      context.writeAndFlush(NIOAny(Self.frame(challenge, context)), promise: nil)
    case .awaitingProof(let hello, let challenge):
      guard case .proof(let proof) = message, verifier.verify(hello.role, challenge, proof) else {
        return refuse(
          context, "a failed identity proof for \(hello.role)",
          telling: verifier.explain(hello.role))
      }
      state = .complete
      progress.isComplete = true
      deadline?.cancel()
      context.fireChannelRead(wrapInboundOut(.hello(hello)))
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    guard case .complete = state else { return refuse(context, "a malformed frame (\(error))") }
    context.fireErrorCaught(error)
  }

  private func refuse(
    _ context: ChannelHandlerContext, _ reason: @autoclosure () -> String,
    telling refusal: Refusal? = nil
  ) {
    gate.refused("\(reason()) from \(address ?? "unknown")")
    guard let refusal else { return context.close(promise: nil) }
    context.writeAndFlush(NIOAny(Self.frame(.refused(refusal), context)), promise: nil)
    context.close(promise: nil)
  }

  static func frame(_ message: WireMessage, _ context: ChannelHandlerContext) -> ByteBuffer {
    var buffer = context.channel.allocator.buffer(
      capacity: WireCodec.frameLength(of: message) + WireCodec.lengthFieldBytes)
    WireCodec.encode(message, into: &buffer)
    return buffer
  }
}
