import HybsterCore
import HybsterWire
import NIOCore
import TrInX

/// The seed corpus of both fuzz targets: one input per message type, certified with
/// the fuzzed group's keys by replicas 1 and 2 so that inputs start past the
/// certificate checks, a view change by both, and a request with a COMMIT.
///
/// `Fuzz/run` writes it to `Fuzz/corpus/<target>` (through `FuzzCorpus`); the smoke
/// tests of `swift test` generate it in memory.
public enum SeedCorpus {
  /// The numbers the seed messages carry. The defaults are the corpus's; others
  /// (up to 2^64 − 1) build the same messages, still certified, around hostile numbers.
  public struct Numbers: Hashable, Sendable {
    /// The view of the PREPARE, COMMIT and STATUS, and the view the VIEW-CHANGEs leave.
    public var view: UInt64 = 0
    /// The order number of the PREPARE and COMMIT.
    public var order: UInt64 = 1
    /// The order number of the CHECKPOINT.
    public var checkpointOrder: UInt64 = 2
    /// The STATUS's next delivery.
    public var nextDelivery: UInt64 = 1
    /// The request's lane.
    public var lane: UInt32 = 0
    /// The request's sequence number.
    public var sequence: UInt64 = 1
    /// The STATE-REQUEST's order number.
    public var stateOrder: UInt64 = 4

    /// The seed corpus's numbers.
    public init() {}
  }

  /// The seed inputs by name (sorted), around `numbers` (by default the corpus's). A message that TrInX refuses
  /// to certify (a counter value of 0, or not above the previous one) is left out,
  /// and so is an input left with no message.
  public static func inputs(_ numbers: Numbers = Numbers()) -> [(name: String, bytes: [UInt8])] {
    let configuration = FuzzKeys.configuration
    // A fresh instance for every certificate, so that any counter value above 0 can
    // be certified; nil where TrInX refuses.
    func certified<T>(
      _ replica: ReplicaID, _ pillar: Int, _ certify: (inout TrInXInstance) throws -> T
    ) -> T? {
      var trinx = try! TrInXInstance(
        id: configuration.trinxInstance(of: replica, pillar: pillar),
        counterCount: CounterLayout.count, key: FuzzKeys.group)
      return try? certify(&trinx)
    }
    let client = FuzzKeys.clients.credentials(0, mode: configuration.clientAuthentication)
    let request = client.request(
      lane: numbers.lane, sequence: numbers.sequence, operation: [1, 2, 3])
    let batch = Batch(requests: [request])
    let view = numbers.view
    let order = numbers.order
    let prepare = certified(1, 0) {
      try $0.certifyIndependent(
        counter: CounterLayout.ordering, newValue: CounterValue(high: view, low: order),
        message: Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest))
    }
    .map {
      WireMessage.protocolMessage(
        .prepare(Prepare(view: view, order: order, batch: batch, certificate: $0)))
    }
    let commit = certified(2, 0) {
      try $0.certifyIndependent(
        counter: CounterLayout.ordering, newValue: CounterValue(high: view, low: order),
        message: Commit.certifiedDigest(view: view, order: order, batchDigest: batch.digest))
    }
    .map {
      WireMessage.protocolMessage(
        .commit(
          Commit(
            view: view, order: order, batchDigest: batch.digest, replica: 2, certificate: $0)))
    }
    let stateDigest = Digest(bytes: [UInt8](repeating: 9, count: 32))!
    let checkpointOrder = numbers.checkpointOrder
    let checkpoint = certified(1, 0) {
      try $0.trustedMAC(
        counter: CounterLayout.checkpoint,
        message: CheckpointMessage.certifiedDigest(order: checkpointOrder, stateDigest: stateDigest)
      )
    }
    .map {
      WireMessage.protocolMessage(
        .checkpoint(
          CheckpointMessage(
            order: checkpointOrder, stateDigest: stateDigest, replica: 1, certificate: $0)))
    }
    var viewChanges: [WireMessage] = []
    let toView = view &+ 1
    for replica: ReplicaID in [1, 2] {
      for pillar in 0..<configuration.pillarCount {
        let digest = ViewChange.certifiedDigest(
          replica: replica, fromView: view, toView: toView, checkpoint: nil, prepares: [])
        guard
          let certificate = certified(
            replica, pillar,
            {
              try $0.certifyContinuing(
                counter: CounterLayout.ordering, newValue: CounterValue(high: toView, low: 0),
                message: digest)
            })
        else { continue }
        viewChanges.append(
          .protocolMessage(
            .viewChange(
              ViewChange(
                replica: replica, fromView: view, toView: toView, checkpoint: nil, prepares: [],
                certificate: certificate))))
      }
    }
    let status = StatusMessage(replica: 1, view: view, nextDelivery: numbers.nextDelivery)
    let messages: [(String, [WireMessage?])] = [
      ("request", [.request(request)]),
      ("prepare", [prepare]),
      ("commit", [commit]),
      ("checkpoint", [checkpoint]),
      ("status", [.protocolMessage(.status(status))]),
      ("forwarded", [.protocolMessage(.forwardedRequest(request))]),
      ("hello", [.hello(Hello(role: .client(5)))]),
      ("state-request", [.stateRequest(StateRequest(replica: 1, order: numbers.stateOrder))]),
      ("view-change", viewChanges + [.request(request)]),
      ("ordering", [.request(request), commit]),
    ]
    return messages.compactMap { name, messages in
      var buffer = ByteBuffer()
      for case let message? in messages { WireCodec.encode(message, into: &buffer) }
      return buffer.readableBytes == 0 ? nil : (name, Array(buffer.readableBytesView))
    }
    .sorted { $0.name < $1.name }
  }
}
