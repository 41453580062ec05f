import HybsterCore
import HybsterWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("FrameDecoder and FrameEncoder on a channel")
struct FrameHandlerTests {
  private func decodingChannel(limits: WireLimits = .default) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandler(
      ByteToMessageHandler(FrameDecoder(limits: limits)))
    return channel
  }

  private func readAll(_ channel: EmbeddedChannel) throws -> [WireMessage] {
    var messages: [WireMessage] = []
    while let message = try channel.readInbound(as: WireMessage.self) { messages.append(message) }
    return messages
  }

  private var stream: [UInt8] {
    var buffer = ByteBuffer()
    for message in Fixtures.samples { WireCodec.encode(message, into: &buffer) }
    return Array(buffer.readableBytesView)
  }

  @Test("a stream split at every byte boundary yields every frame once, in order")
  func splitAtEveryBoundary() throws {
    let bytes = stream
    for cut in 0...bytes.count {
      let channel = try decodingChannel()
      try channel.writeInbound(ByteBuffer(bytes: bytes[..<cut]))
      try channel.writeInbound(ByteBuffer(bytes: bytes[cut...]))
      #expect(try readAll(channel) == Fixtures.samples, "split at \(cut)")
      #expect(try channel.finish().isClean)
    }
  }

  @Test("a stream delivered one byte at a time yields every frame")
  func oneByteAtATime() throws {
    let channel = try decodingChannel()
    var received: [WireMessage] = []
    for byte in stream {
      try channel.writeInbound(ByteBuffer(bytes: [byte]))
      received += try readAll(channel)
    }
    #expect(received == Fixtures.samples)
    #expect(try channel.finish().isClean)
  }

  @Test("an oversized length field fails as soon as its four bytes arrive")
  func oversizedLengthField() throws {
    let channel = try decodingChannel()
    let limit = WireLimits.default.maxFrameLength
    try channel.writeInbound(ByteBuffer(bytes: Fixtures.be(UInt32(limit)).prefix(3)))
    #expect(throws: WireError.frameTooLarge(length: limit + 1, limit: limit)) {
      try channel.writeInbound(ByteBuffer(bytes: [0x01]))
    }
    _ = try? channel.finish()
  }

  @Test("a malformed frame after good ones fails with its WireError")
  func malformedFrame() throws {
    let channel = try decodingChannel()
    var buffer = Fixtures.frame(Fixtures.samples[0])
    buffer.writeBytes(Fixtures.be(UInt32(2)) + [WireCodec.protocolVersion, 0xEE])
    #expect(throws: WireError.unknownMessageType(0xEE)) {
      try channel.writeInbound(buffer)
    }
    #expect(try readAll(channel) == [Fixtures.samples[0]])
    _ = try? channel.finish()
  }

  @Test("end of stream inside a frame is reported as truncated")
  func eofInsideFrame() throws {
    let channel = try decodingChannel()
    let frame = Array(Fixtures.frame(Fixtures.samples[2]).readableBytesView)
    try channel.writeInbound(ByteBuffer(bytes: frame + frame.prefix(5)))
    #expect(try readAll(channel) == [Fixtures.samples[2]])
    #expect(throws: WireError.truncated(field: "frame")) {
      try channel.finish()
    }
  }

  @Test("the encoder writes exactly WireCodec's frame")
  func encoderWritesFrames() throws {
    let channel = EmbeddedChannel()
    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
    for message in Fixtures.samples {
      try channel.writeOutbound(message)
      let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
      #expect(written == Fixtures.frame(message))
    }
    #expect(try channel.finish().isClean)
  }

  @Test("the encoder refuses a message its limits forbid and writes nothing")
  func encoderRefusesOversized() throws {
    let channel = EmbeddedChannel()
    let limits = WireLimits(maxFrameLength: 16)
    try channel.pipeline.syncOperations.addHandler(
      MessageToByteHandler(FrameEncoder(limits: limits)))
    let message = Fixtures.samples[2]
    #expect(
      throws: WireError.frameTooLarge(length: WireCodec.frameLength(of: message), limit: 16)
    ) {
      try channel.writeOutbound(message)
    }
    #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    _ = try? channel.finish()
  }

  @Test("encoder and decoder connect back to back")
  func backToBack() throws {
    let sender = EmbeddedChannel()
    try sender.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
    let receiver = try decodingChannel()
    for message in Fixtures.samples { try sender.writeOutbound(message) }
    while let buffer = try sender.readOutbound(as: ByteBuffer.self) {
      try receiver.writeInbound(buffer)
    }
    #expect(try readAll(receiver) == Fixtures.samples)
    #expect(try sender.finish().isClean)
    #expect(try receiver.finish().isClean)
  }
}
