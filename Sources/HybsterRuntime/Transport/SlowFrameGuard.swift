import NIOCore

/// Closes a connection on which a frame stays incomplete for too long (issue 11: a
/// peer that sends a large frame a byte at a time pins its buffer for good). It
/// sits before the frame decoder and follows the length fields as bytes pass:
/// whenever a frame is pending, the previous one must have completed less than
/// `timeout` ago.
final class SlowFrameGuard: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer

  private let timeout: TimeAmount
  private let gate: ConnectionGate
  private var lengthField: UInt32 = 0
  private var lengthBytes = 0
  private var remaining = 0
  private var deadline: Scheduled<Void>?

  init(timeout: TimeAmount, gate: ConnectionGate) {
    self.timeout = timeout
    self.gate = gate
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let buffer = unwrapInboundIn(data)
    var completed = false
    var index = buffer.readerIndex
    var left = buffer.readableBytes
    while left > 0 {
      if remaining > 0 {
        let take = min(remaining, left)
        remaining -= take
        left -= take
        index += take
        completed = completed || remaining == 0
        continue
      }
      lengthField = lengthField << 8 | UInt32(buffer.getInteger(at: index, as: UInt8.self)!)
      lengthBytes += 1
      index += 1
      left -= 1
      if lengthBytes == 4 {
        remaining = Int(lengthField)
        completed = completed || remaining == 0
        lengthField = 0
        lengthBytes = 0
      }
    }
    if completed {
      deadline?.cancel()
      deadline = nil
    }
    if deadline == nil, remaining > 0 || lengthBytes > 0 {
      let box = UnsafeTransfer(context)
      let gate = gate
      let address = context.remoteAddress?.ipAddress ?? "unknown"
      deadline = context.eventLoop.scheduleTask(in: timeout) {
        gate.refused("a frame incomplete for too long (\(address))")
        box.value.close(promise: nil)
      }
    }
    context.fireChannelRead(data)
  }

  func channelInactive(context: ChannelHandlerContext) {
    deadline?.cancel()
    context.fireChannelInactive()
  }
}
