import HybsterWire
import NIOCore

/// One input of the `FuzzDecoder` target: a stream of frames, decoded until the
/// first that is incomplete or refused.
///
/// Decoding is total (a message or a typed ``WireError``, never a trap), a decoded
/// message re-encodes to exactly the bytes it came from, and it passes the encoder's
/// ``WireCodec/validate(_:limits:)`` under the limits it was decoded with.
public enum DecoderHarness {
  /// Runs one input; `nil` when every invariant held.
  public static func run(_ input: UnsafeBufferPointer<UInt8>) -> FuzzFailure? {
    var buffer = ByteBuffer(bytes: input)
    while true {
      let start = buffer.readerIndex
      let message: WireMessage?
      do {
        message = try WireCodec.decodeFrame(from: &buffer)
      } catch {
        return nil
      }
      guard let message else { return nil }
      let consumed = buffer.readerIndex - start
      var reencoded = ByteBuffer()
      WireCodec.encode(message, into: &reencoded)
      guard reencoded.readableBytesView.elementsEqual(input[start..<start + consumed]) else {
        return FuzzFailure(
          "non-canonical decoding: the \(message.type) frame at byte \(start) re-encodes"
            + " to different bytes")
      }
      do {
        try WireCodec.validate(message, limits: .default)
      } catch {
        return FuzzFailure(
          "the \(message.type) frame at byte \(start) decodes but fails validation: \(error)")
      }
    }
  }

  /// Runs one input; `nil` when every invariant held.
  public static func run(_ input: [UInt8]) -> FuzzFailure? {
    input.withUnsafeBufferPointer { run($0) }
  }
}
