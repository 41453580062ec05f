import HybsterCore
import HybsterWire
import NIOCore
import TrInX

/// SplitMix64: a tiny seeded PRNG so that every random test is reproducible.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

enum Fixtures {
  static func tag(_ seed: UInt8) -> TrInXMAC {
    TrInXMAC(bytes: (0..<32).map { seed &+ UInt8($0) })!
  }

  static func digest(_ seed: UInt8) -> Digest {
    Digest(bytes: (0..<32).map { seed &* 3 &+ UInt8($0) })!
  }

  static func independent(issuer: UInt32, view: UInt64, order: UInt64) -> Certificate {
    Certificate(
      issuer: issuer, counter: 0, newValue: CounterValue(high: view, low: order),
      previousValue: nil, mac: tag(0xA0))
  }

  static func continuing(issuer: UInt32, from: CounterValue, to: CounterValue) -> Certificate {
    Certificate(issuer: issuer, counter: 1, newValue: to, previousValue: from, mac: tag(0xB0))
  }

  static func request(client: UInt32 = 7, sequence: UInt64 = 1, operation: [UInt8] = [1, 2, 3])
    -> Request
  {
    Request(
      client: client, lane: 2, sequence: sequence, operation: operation,
      authenticator: [tag(1), tag(2), tag(3)])
  }

  /// A request with a signature block: a leaf of a four-leaf tree (issue 13).
  static func signedRequest() -> Request {
    Request(
      client: 7, lane: 1, sequence: 2, operation: [4, 5], authenticator: [],
      signature: RequestSignature(
        signature: (0..<64).map { UInt8($0) }, index: 2, path: [digest(7), digest(8)]))
  }

  /// One or more samples of every message type, small enough to truncate byte by byte.
  static let samples: [WireMessage] = [
    .hello(Hello(role: .replica(2))),
    .challenge(HandshakeChallenge(nonce: (0..<32).map { UInt8($0) })),
    .proof(HandshakeProof(mac: tag(0xC0))),
    .hello(Hello(role: .client(0xDEAD_BEEF), protocolVersion: 9)),
    .request(request()),
    .request(Request(client: 0, lane: 0, sequence: 0, operation: [], authenticator: [])),
    .request(signedRequest()),
    .refused(Refusal(reason: .unknownClient, detail: "client 7 is not admitted")),
    .refused(Refusal(lane: 3, sequence: .max, reason: .operationTooLarge, detail: "")),
    .reply(
      Reply(
        client: 7, lane: 2, sequence: 1, replica: 1, view: 3, result: [9, 8, 7], tag: tag(4))),
    .reply(
      Reply(
        client: .max, lane: .max, sequence: ProtocolNumbers.limit, replica: .max,
        view: ProtocolNumbers.limit, result: [],
        tag: tag(5))),
    .protocolMessage(
      .prepare(
        Prepare(
          view: 0, order: 1, batch: .empty,
          certificate: independent(issuer: 0, view: 0, order: 1)))),
    .protocolMessage(
      .prepare(
        Prepare(
          view: 4, order: 17,
          batch: Batch(requests: [request(), request(client: 8, operation: []), request()]),
          certificate: continuing(
            issuer: 1, from: CounterValue(high: 3, low: 16), to: CounterValue(high: 4, low: 17)
          )))),
    .protocolMessage(
      .commit(
        Commit(
          view: 4, order: 17, batchDigest: digest(1), replica: 2,
          certificate: independent(issuer: 2, view: 4, order: 17)))),
    .protocolMessage(
      .checkpoint(
        CheckpointMessage(
          order: 100, stateDigest: digest(2), replica: 1,
          certificate: continuing(
            issuer: 1, from: CounterValue(high: 0, low: 100), to: CounterValue(high: 0, low: 100)
          )))),
    .protocolMessage(.forwardedRequest(request(client: 9, sequence: 5, operation: [0xFF]))),
    .protocolMessage(.status(StatusMessage(replica: 1, view: 2, nextDelivery: 33))),
    .protocolMessage(.viewChange(viewChange(replica: 0, checkpoint: nil, prepares: []))),
    .protocolMessage(
      .viewChange(viewChange(replica: 1, checkpoint: stableCheckpoint(), prepares: prepares()))),
    .protocolMessage(
      .newView(NewView(view: 5, viewChanges: [], acknowledgments: [], prepares: []))),
    .protocolMessage(
      .newView(
        NewView(
          view: 5,
          viewChanges: [
            viewChange(replica: 0, checkpoint: nil, prepares: []),
            viewChange(replica: 2, checkpoint: stableCheckpoint(), prepares: prepares()),
          ],
          acknowledgments: [newViewAck(prepares: prepares())],
          prepares: prepares(view: 5)))),
    .protocolMessage(.newViewAck(newViewAck(prepares: []))),
    .protocolMessage(.newViewAck(newViewAck(prepares: prepares()))),
    .stateRequest(StateRequest(replica: 2, order: 256)),
    .stateChunk(
      StateChunk(order: 256, stateDigest: digest(3), totalBytes: 10, offset: 4, bytes: [1, 2, 3])),
    .stateChunk(
      StateChunk(
        order: ProtocolNumbers.limit, stateDigest: .zero, totalBytes: 0, offset: 0, bytes: [])),
  ]

  /// A trusted MAC: a continuing certificate whose previous value is its new value.
  static func trustedMAC(issuer: UInt32, value: CounterValue) -> Certificate {
    Certificate(issuer: issuer, counter: 2, newValue: value, previousValue: value, mac: tag(0xC0))
  }

  /// A stable checkpoint at order 100 proven by replicas 0 and 1.
  static func stableCheckpoint() -> StableCheckpoint {
    StableCheckpoint(
      order: 100, stateDigest: digest(2),
      proof: (0..<2).map { replica in
        CheckpointMessage(
          order: 100, stateDigest: digest(2), replica: replica,
          certificate: trustedMAC(issuer: replica, value: CounterValue(high: 0, low: 100)))
      })
  }

  /// Two PREPAREs of `view`: a no-op and a batch of one request.
  static func prepares(view: UInt64 = 4) -> [Prepare] {
    [
      Prepare(
        view: view, order: 101, batch: .empty,
        certificate: independent(issuer: 0, view: view, order: 101)),
      Prepare(
        view: view, order: 102, batch: Batch(requests: [request()]),
        certificate: independent(issuer: 0, view: view, order: 102)),
    ]
  }

  /// A VIEW-CHANGE from view 4 to view 5, certified on the ordering counter with a
  /// continuing certificate from [4|102] to [5|0].
  static func viewChange(replica: UInt32, checkpoint: StableCheckpoint?, prepares: [Prepare])
    -> ViewChange
  {
    ViewChange(
      replica: replica, fromView: 4, toView: 5, checkpoint: checkpoint, prepares: prepares,
      certificate: continuing(
        issuer: replica, from: CounterValue(high: 4, low: 102), to: CounterValue(high: 5, low: 0)
      ))
  }

  /// A NEW-VIEW-ACK from replica 1 for view 4.
  static func newViewAck(prepares: [Prepare]) -> NewViewAck {
    NewViewAck(
      replica: 1, view: 4, prepares: prepares,
      certificate: trustedMAC(issuer: 1, value: CounterValue(high: 4, low: 7)))
  }

  /// A complete frame, length field included.
  static func frame(_ message: WireMessage) -> ByteBuffer {
    var buffer = ByteBuffer()
    WireCodec.encode(message, into: &buffer)
    return buffer
  }

  /// A frame body: the bytes after the length field.
  static func body(_ message: WireMessage) -> ByteBuffer {
    var buffer = frame(message)
    buffer.moveReaderIndex(forwardBy: WireCodec.lengthFieldBytes)
    return buffer
  }

  static func decodeBody(_ bytes: [UInt8], limits: WireLimits = .default) throws(WireError)
    -> WireMessage
  {
    var buffer = ByteBuffer(bytes: bytes)
    return try WireCodec.decode(frame: &buffer, limits: limits)
  }

  /// The error decoding `bytes` as a frame body throws, or `nil` if it decodes.
  static func bodyError(_ bytes: [UInt8], limits: WireLimits = .default) -> WireError? {
    do {
      _ = try decodeBody(bytes, limits: limits)
      return nil
    } catch {
      return error
    }
  }

  static func be<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
  }
}

extension WireError {
  var isTruncated: Bool {
    if case .truncated = self { return true }
    return false
  }
}
