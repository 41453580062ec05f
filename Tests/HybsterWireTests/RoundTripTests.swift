import HybsterCore
import HybsterWire
import NIOCore
import Testing
import TrInX

@Suite("Round trips (§5.2 messages)")
struct RoundTripTests {
  @Test("every sample decodes to itself and its length field is exact", arguments: Fixtures.samples)
  func roundTrip(message: WireMessage) throws {
    var frame = Fixtures.frame(message)
    let length = try #require(frame.getInteger(at: 0, as: UInt32.self))
    #expect(Int(length) == frame.readableBytes - 4)
    #expect(Int(length) == WireCodec.frameLength(of: message))
    #expect(frame.getInteger(at: 4, as: UInt8.self) == WireCodec.protocolVersion)
    #expect(frame.getInteger(at: 5, as: UInt8.self) == message.type.rawValue)
    try WireCodec.validate(message)
    let decoded = try WireCodec.decodeFrame(from: &frame)
    #expect(decoded == message)
    #expect(frame.readableBytes == 0)
  }

  @Test("the samples cover every message type")
  func samplesCoverEveryType() {
    let covered = Set(Fixtures.samples.map(\.type))
    #expect(covered == Set(WireMessageType.allCases))
  }

  @Test("type bytes are distinct and match the documented table")
  func typeBytes() {
    let table: [WireMessageType: UInt8] = [
      .hello: 0x01, .request: 0x02, .reply: 0x03, .challenge: 0x04, .proof: 0x05, .refused: 0x06,
      .prepare: 0x10,
      .commit: 0x11,
      .checkpoint: 0x12, .forwardedRequest: 0x13, .status: 0x14, .viewChange: 0x15,
      .newView: 0x16, .newViewAck: 0x17, .stateRequest: 0x20, .stateChunk: 0x21,
    ]
    for type in WireMessageType.allCases { #expect(table[type] == type.rawValue) }
  }

  @Test("the core's Request.byteCount is the request's size on the wire")
  func requestByteCount() {
    for operation in [[], [1, 2, 3], [UInt8](repeating: 9, count: 4000)] as [[UInt8]] {
      let request = Fixtures.request(operation: operation)
      // The frame adds the version and type bytes.
      #expect(WireCodec.frameLength(of: .request(request)) == 2 + request.byteCount)
    }
  }

  @Test("frames appended to one buffer decode in order")
  func appendedFrames() throws {
    var buffer = ByteBuffer(bytes: [0xAA])
    for message in Fixtures.samples { WireCodec.encode(message, into: &buffer) }
    #expect(buffer.readInteger(as: UInt8.self) == 0xAA)
    var decoded: [WireMessage] = []
    while let message = try WireCodec.decodeFrame(from: &buffer) { decoded.append(message) }
    #expect(decoded == Fixtures.samples)
    #expect(buffer.readableBytes == 0)
  }

  @Test("certificates: independent has no previous value, continuing keeps it")
  func certificateKinds() throws {
    let independent = Fixtures.independent(issuer: 3, view: 1, order: 2)
    let continuing = Fixtures.continuing(
      issuer: 3, from: CounterValue(high: 1, low: 2), to: CounterValue(high: 2, low: 0))
    for certificate in [independent, continuing] {
      let message = WireMessage.protocolMessage(
        .commit(
          Commit(
            view: 1, order: 2, batchDigest: .zero, replica: 3, certificate: certificate)))
      let body = Fixtures.body(message)
      let decoded = try Fixtures.decodeBody(Array(body.readableBytesView))
      guard case .protocolMessage(.commit(let commit)) = decoded else {
        Issue.record("decoded \(decoded)")
        return
      }
      #expect(commit.certificate == certificate)
      #expect(commit.certificate.kind == certificate.kind)
      #expect(commit.certificate.previousValue == certificate.previousValue)
    }
    #expect(
      Fixtures.body(
        .protocolMessage(
          .commit(
            Commit(view: 1, order: 2, batchDigest: .zero, replica: 3, certificate: continuing)))
      ).readableBytes
        == Fixtures.body(
          .protocolMessage(
            .commit(
              Commit(
                view: 1, order: 2, batchDigest: .zero, replica: 3, certificate: independent)))
        ).readableBytes + 16)
  }

  @Test("a request with the largest operation and a full authenticator round-trips")
  func maximalRequest() throws {
    let operation = (0..<WireLimits.defaultMaxPayloadBytes).map {
      UInt8(truncatingIfNeeded: $0 &* 31 &+ 7)
    }
    let authenticator = (0..<WireLimits.defaultMaxAuthenticatorEntries).map {
      Fixtures.tag(UInt8(truncatingIfNeeded: $0))
    }
    let request = Request(
      client: .max, lane: .max, sequence: ProtocolNumbers.limit, operation: operation,
      authenticator: authenticator)
    for message in [WireMessage.request(request), .protocolMessage(.forwardedRequest(request))] {
      try WireCodec.validate(message)
      #expect(WireCodec.frameLength(of: message) <= WireLimits.default.maxFrameLength)
      var frame = Fixtures.frame(message)
      #expect(try WireCodec.decodeFrame(from: &frame) == message)
    }
  }

  @Test("a reply with the largest result round-trips")
  func maximalReply() throws {
    let reply = Reply(
      client: 1, lane: 1, sequence: 1, replica: 0, view: 0,
      result: [UInt8](repeating: 0x5A, count: WireLimits.defaultMaxPayloadBytes),
      tag: Fixtures.tag(9))
    var frame = Fixtures.frame(.reply(reply))
    #expect(try WireCodec.decodeFrame(from: &frame) == .reply(reply))
  }

  @Test("a PREPARE with the largest batch round-trips")
  func maximalBatch() throws {
    let requests = (0..<WireLimits.defaultMaxBatchCount).map {
      Request(
        client: UInt32($0), lane: 0, sequence: UInt64($0), operation: [], authenticator: [])
    }
    let message = WireMessage.protocolMessage(
      .prepare(
        Prepare(
          view: 1, order: 2, batch: Batch(requests: requests),
          certificate: Fixtures.independent(issuer: 1, view: 1, order: 2))))
    try WireCodec.validate(message)
    var frame = Fixtures.frame(message)
    #expect(try WireCodec.decodeFrame(from: &frame) == message)
  }
}
