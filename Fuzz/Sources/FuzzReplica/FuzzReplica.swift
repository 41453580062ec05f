import FuzzSupport
import HybsterCore
import HybsterWire
import NIOCore
import TrInX

/// A replica with two pillars (n = 3), as the fuzzer's frames find it: one per
/// process, so that state carries over from input to input as on a long-running
/// replica.
nonisolated(unsafe) var replica: ReplicaPillars = {
  let configuration = FuzzKeys.configuration
  let pillars = (0..<2).map { pillar in
    OrderingPillar(
      configuration: configuration, replica: 0, pillar: pillar,
      trinx: try! TrInXInstance(
        id: configuration.trinxInstance(of: 0, pillar: pillar), counterCount: CounterLayout.count,
        key: FuzzKeys.group),
      clients: FuzzKeys.clients.authenticator(0, mode: configuration.clientAuthentication))
  }
  return ReplicaPillars(pillars: pillars)
}()

/// libFuzzer entry point: every frame of the input that decodes goes to the replica
/// — a protocol message as from replica 1 or 2 on pillar 0 or 1, a request as from a
/// client — with a tick every fourth frame. No input may trap, hang or grow a
/// buffer past its bound.
func fuzzReplica(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
  var index = 0
  while let message = try? WireCodec.decodeFrame(from: &buffer) {
    index += 1
    switch message {
    case .protocolMessage(let message):
      _ = replica.handle(
        .message(message, from: ReplicaID(1 + index % 2), pillar: (index / 2) % 2))
    case .request(let request):
      _ = replica.handle(.request(request))
    default:
      break
    }
    if index % 4 == 0 { _ = replica.handle(.tick) }
  }
  precondition(replica.coordinator.heldParts <= replica.coordinator.heldPartsBound)
  return 0
}
