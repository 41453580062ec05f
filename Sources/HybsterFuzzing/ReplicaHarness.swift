import HybsterCore
import HybsterWire
import NIOCore
import TrInX

/// The `FuzzReplica` target: replica 0 of ``FuzzKeys/configuration`` (n = 3, two
/// pillars), fed every frame of an input that decodes.
///
/// A protocol message arrives as from replica 1 or 2 on pillar 0 or 1 (alternating
/// with the frame's index), a request or forwarded request as from a client, and a
/// tick follows every fourth frame; other frames are skipped. The replica lives
/// across inputs, as a long-running one does. No input may trap or hang, and every
/// buffer stays within its bound: each pillar's log within its window, its queue of
/// requests within its maximum, the coordinator's early deliveries and held
/// view-change parts within theirs (the bounds the simulator checks).
public struct ReplicaHarness: Sendable {
  /// The fuzzed replica.
  public private(set) var replica: ReplicaPillars

  /// A fresh replica 0, with no input handled yet.
  public init() {
    let configuration = FuzzKeys.configuration
    let pillars = (0..<configuration.pillarCount).map { pillar in
      OrderingPillar(
        configuration: configuration, replica: 0, pillar: pillar,
        trinx: try! TrInXInstance(
          id: configuration.trinxInstance(of: 0, pillar: pillar),
          counterCount: CounterLayout.count, key: FuzzKeys.group),
        clients: FuzzKeys.clients.authenticator(0, mode: configuration.clientAuthentication))
    }
    replica = ReplicaPillars(pillars: pillars)
  }

  /// Runs one input; `nil` when every invariant held.
  public mutating func run(_ input: UnsafeBufferPointer<UInt8>) -> FuzzFailure? {
    var buffer = ByteBuffer(bytes: input)
    var index = 0
    var actions: [ReplicaPillars.Action] = []
    while let message = try? WireCodec.decodeFrame(from: &buffer) {
      index += 1
      switch message {
      case .protocolMessage(let message):
        replica.handle(
          .message(message, from: ReplicaID(1 + index % 2), pillar: (index / 2) % 2),
          into: &actions)
      case .request(let request):
        replica.handle(.request(request), into: &actions)
      default:
        break
      }
      if index % 4 == 0 { replica.handle(.tick, into: &actions) }
      actions.removeAll(keepingCapacity: true)
    }
    return boundsFailure()
  }

  /// Runs one input; `nil` when every invariant held.
  public mutating func run(_ input: [UInt8]) -> FuzzFailure? {
    input.withUnsafeBufferPointer { run($0) }
  }

  /// The first buffer over its bound, if any.
  public func boundsFailure() -> FuzzFailure? {
    for pillar in replica.pillars {
      if pillar.logSize > Int(pillar.windowSize) {
        return FuzzFailure(
          "pillar \(pillar.pillar) keeps \(pillar.logSize) log slots, window \(pillar.windowSize)")
      }
      if pillar.pendingCount > pillar.maxPendingRequests {
        return FuzzFailure(
          "pillar \(pillar.pillar) queues \(pillar.pendingCount) requests,"
            + " bound \(pillar.maxPendingRequests)")
      }
    }
    let coordinator = replica.coordinator
    if coordinator.waitingDeliveries > coordinator.waitingDeliveriesBound {
      return FuzzFailure(
        "the coordinator holds \(coordinator.waitingDeliveries) early deliveries,"
          + " bound \(coordinator.waitingDeliveriesBound)")
    }
    if coordinator.heldParts > coordinator.heldPartsBound {
      return FuzzFailure(
        "the view-change gate holds \(coordinator.heldParts) parts,"
          + " bound \(coordinator.heldPartsBound)")
    }
    return nil
  }
}
