import HybsterWire
import NIOCore

/// libFuzzer entry point: decodes the input as a stream of frames. Decoding is total
/// (a message or a typed error, never a crash), and a decoded message re-encodes to
/// exactly the bytes it came from.
func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
  while true {
    let start = buffer.readerIndex
    let message: WireMessage?
    do {
      message = try WireCodec.decodeFrame(from: &buffer)
    } catch {
      return 0
    }
    guard let message else { return 0 }
    let consumed = buffer.readerIndex - start
    var reencoded = ByteBuffer()
    WireCodec.encode(message, into: &reencoded)
    let original = Array(UnsafeBufferPointer(start: data + start, count: consumed))
    precondition(Array(reencoded.readableBytesView) == original, "non-canonical decoding")
  }
}
