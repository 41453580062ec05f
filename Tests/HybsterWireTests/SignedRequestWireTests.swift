import HybsterCore
import HybsterWire
import NIOCore
import Testing

/// The request signature block and REFUSED frame of wire version 2 (issue 13).
@Suite("Signed requests and refusals on the wire")
struct SignedRequestWireTests {
  private func decode(_ message: WireMessage, patch: (inout [UInt8]) -> Void) throws(WireError)
    -> WireMessage
  {
    var buffer = ByteBuffer()
    WireCodec.encode(message, into: &buffer)
    var bytes = Array(buffer.readableBytesView)
    patch(&bytes)
    var frame = ByteBuffer(bytes: bytes.dropFirst(WireCodec.lengthFieldBytes))
    return try WireCodec.decode(frame: &frame)
  }

  @Test("a signed request round-trips, and its byte count is its encoded length")
  func roundTrip() throws {
    let request = Fixtures.signedRequest()
    #expect(try decode(.request(request)) { _ in } == .request(request))
    #expect(WireCodec.frameLength(of: .request(request)) == 2 + request.byteCount)
  }

  @Test("the signature is part of a request's digest, and so of its batch's")
  func signatureInDigest() {
    var other = Fixtures.signedRequest()
    other.signature!.signature[0] ^= 1
    #expect(other.payloadDigest == Fixtures.signedRequest().payloadDigest)
    #expect(other.digest != Fixtures.signedRequest().digest)
    var unsigned = other
    unsigned.signature = nil
    #expect(unsigned.digest == unsigned.payloadDigest)
  }

  @Test("an index beyond the path, a path over 16 digests and a bad flag are refused")
  func malformedBlocks() throws {
    var request = Fixtures.signedRequest()
    request.signature!.path = []
    request.signature!.index = 0
    // Offsets from the end of the frame: … flag, signature (64), index (4), count (1).
    #expect(throws: WireError.notCanonical(field: "request.signature.index")) {
      try decode(.request(request)) { bytes in bytes[bytes.count - 2] = 1 }
    }
    #expect(throws: WireError.fieldTooLarge(field: "request.signature.path", count: 17, limit: 16))
    {
      try decode(.request(request)) { bytes in bytes[bytes.count - 1] = 17 }
    }
    #expect(throws: WireError.invalidEnumValue(field: "request.signature", value: 2)) {
      try decode(.request(request)) { bytes in bytes[bytes.count - 70] = 2 }
    }
  }

  @Test("a REFUSED with an unknown reason or invalid UTF-8 is refused")
  func malformedRefusals() throws {
    let refusal = WireMessage.refused(Refusal(reason: .wrongClient, detail: "ab"))
    #expect(throws: WireError.invalidEnumValue(field: "refused.reason", value: 0)) {
      try decode(refusal) { bytes in bytes[bytes.count - 4] = 0 }
    }
    #expect(throws: WireError.notCanonical(field: "refused.detail")) {
      try decode(refusal) { bytes in bytes[bytes.count - 1] = 0xFF }
    }
  }

  @Test("a refusal's detail is cut to 255 bytes, whole characters only")
  func longDetail() throws {
    let refusal = Refusal(reason: .malformedFrame, detail: String(repeating: "é", count: 200))
    #expect(refusal.detail.utf8.count <= Refusal.maxDetailBytes)
    #expect(try decode(.refused(refusal)) { _ in } == .refused(refusal))
  }
}
