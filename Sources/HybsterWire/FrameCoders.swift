import NIOCore

/// Splits a TCP byte stream into ``WireMessage``s (§5.2: replicas and clients
/// exchange messages over point-to-point connections).
///
/// Install as `ByteToMessageHandler(FrameDecoder())`. A length field above
/// ``WireLimits/maxFrameLength`` throws ``WireError/frameTooLarge(length:limit:)``
/// as soon as its four bytes arrive, before any of the frame is buffered; any
/// other malformed frame throws its ``WireError``. After an error the handler
/// drops further input; the connection should be closed. An incomplete frame at
/// end of stream throws ``WireError/truncated(field:)`` with field `"frame"`.
public struct FrameDecoder: ByteToMessageDecoder {
  public typealias InboundOut = WireMessage

  /// The limits every frame is decoded under once the peer proved its identity.
  public let limits: WireLimits
  /// The connection's handshake; until it completes, frames are decoded under
  /// ``WireLimits/handshake``. `nil`: always `limits`.
  public let handshake: HandshakeProgress?

  /// Creates a decoder.
  public init(limits: WireLimits = .default, handshake: HandshakeProgress? = nil) {
    self.limits = limits
    self.handshake = handshake
  }

  public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
    -> DecodingState
  {
    let limits = handshake?.isComplete == false ? WireLimits.handshake : self.limits
    guard let message = try WireCodec.decodeFrame(from: &buffer, limits: limits) else {
      return .needMoreData
    }
    context.fireChannelRead(wrapInboundOut(message))
    return .continue
  }

  public mutating func decodeLast(
    context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
  ) throws -> DecodingState {
    while try decode(context: context, buffer: &buffer) == .continue {}
    if seenEOF && buffer.readableBytes > 0 { throw WireError.truncated(field: "frame") }
    return .needMoreData
  }
}

/// Frames outbound ``WireMessage``s (§5.2). Install as
/// `MessageToByteHandler(FrameEncoder())`.
///
/// Each message is checked with ``WireCodec/validate(_:limits:)`` first, so a
/// message the peer would reject fails the write locally instead. A runtime that
/// coalesces several messages into one buffer per event-loop turn can call
/// ``WireCodec/encode(_:into:)`` directly instead of using this handler.
public struct FrameEncoder: MessageToByteEncoder {
  public typealias OutboundIn = WireMessage

  /// The limits every outgoing message is checked against.
  public let limits: WireLimits

  /// Creates an encoder.
  public init(limits: WireLimits = .default) {
    self.limits = limits
  }

  public func encode(data: WireMessage, out: inout ByteBuffer) throws {
    try WireCodec.validate(data, limits: limits)
    WireCodec.encode(data, into: &out)
  }
}

/// Whether a connection's handshake completed (its peer proved the identity its
/// HELLO claimed). Shared by the connection's ``FrameDecoder`` and the handler that
/// checks the proof; both run on the connection's event loop, never elsewhere.
public final class HandshakeProgress: @unchecked Sendable {
  /// Set once, by the handler that verified the proof.
  public var isComplete = false

  /// A handshake not yet complete.
  public init() {}
}
