import HybsterCore
import HybsterWire
import NIOCore
import Testing
import TrInX

/// VIEW-CHANGE, NEW-VIEW and NEW-VIEW-ACK (§5.2.3) on the wire: exact layouts,
/// nested field names, and counts bounded before anything is allocated.
@Suite("View-change messages (§5.2.3)")
struct ViewChangeWireTests {
  private func roundTrip(_ message: WireMessage) throws -> WireMessage {
    try WireCodec.validate(message)
    var frame = Fixtures.frame(message)
    let decoded = try #require(try WireCodec.decodeFrame(from: &frame))
    #expect(frame.readableBytes == 0)
    return decoded
  }

  // MARK: Round trips

  @Test(
    "VIEW-CHANGE round-trips with and without a checkpoint, with empty and non-empty PREPAREs",
    arguments: [false, true], [false, true])
  func viewChangeRoundTrip(withCheckpoint: Bool, withPrepares: Bool) throws {
    let viewChange = Fixtures.viewChange(
      replica: 2, checkpoint: withCheckpoint ? Fixtures.stableCheckpoint() : nil,
      prepares: withPrepares ? Fixtures.prepares() : [])
    let message = WireMessage.protocolMessage(.viewChange(viewChange))
    let decoded = try roundTrip(message)
    #expect(decoded == message)
    guard case .protocolMessage(.viewChange(let result)) = decoded else {
      Issue.record("decoded \(decoded)")
      return
    }
    #expect(result.checkpoint == viewChange.checkpoint)
    #expect(result.prepares == viewChange.prepares)
    // The continuing certificate keeps the previous counter value [v|o_act].
    #expect(result.certificate.kind == .continuing)
    #expect(result.certificate.previousValue == CounterValue(high: 4, low: 102))
    #expect(result.certifiedDigest == viewChange.certifiedDigest)
  }

  @Test("VIEW-CHANGE sizes follow the documented layout")
  func viewChangeSizes() {
    let bare = WireMessage.protocolMessage(
      .viewChange(Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: [])))
    // header 2, replica/fromView/toView 20, presence 1, prepares count 4, continuing 73.
    #expect(WireCodec.frameLength(of: bare) == 2 + 25 + 73)
    let withCheckpoint = WireMessage.protocolMessage(
      .viewChange(
        Fixtures.viewChange(replica: 0, checkpoint: Fixtures.stableCheckpoint(), prepares: [])))
    // order 8, stateDigest 32, proof count 2, two CHECKPOINTs with trusted MACs (44 + 73).
    #expect(WireCodec.frameLength(of: withCheckpoint) == 2 + 25 + 73 + 42 + 2 * 117)
    // Absent checkpoint: one zero byte after toView, nothing else.
    let body = Array(Fixtures.body(bare).readableBytesView)
    #expect(body[22] == 0)
    #expect(Array(Fixtures.body(withCheckpoint).readableBytesView)[22] == 1)
  }

  @Test("NEW-VIEW round-trips: empty, and with VIEW-CHANGEs, NEW-VIEW-ACKs and PREPAREs")
  func newViewRoundTrip() throws {
    let empty = WireMessage.protocolMessage(
      .newView(NewView(view: 0, viewChanges: [], acknowledgments: [], prepares: [])))
    #expect(WireCodec.frameLength(of: empty) == 2 + 8 + 2 + 2 + 4)
    #expect(try roundTrip(empty) == empty)

    let newView = NewView(
      view: 5,
      viewChanges: [
        Fixtures.viewChange(replica: 2, checkpoint: Fixtures.stableCheckpoint(), prepares: []),
        Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: Fixtures.prepares()),
      ],
      acknowledgments: [Fixtures.newViewAck(prepares: []), Fixtures.newViewAck(prepares: [])],
      prepares: Fixtures.prepares(view: 5))
    let message = WireMessage.protocolMessage(.newView(newView))
    let decoded = try roundTrip(message)
    guard case .protocolMessage(.newView(let result)) = decoded else {
      Issue.record("decoded \(decoded)")
      return
    }
    // Order is kept (the receiver recomputes P from S and A in their order).
    #expect(result.viewChanges.map(\.replica) == [2, 0])
    #expect(result == newView)
  }

  @Test("NEW-VIEW-ACK round-trips with its trusted MAC", arguments: [false, true])
  func newViewAckRoundTrip(withPrepares: Bool) throws {
    let acknowledgment = Fixtures.newViewAck(prepares: withPrepares ? Fixtures.prepares() : [])
    let message = WireMessage.protocolMessage(.newViewAck(acknowledgment))
    if !withPrepares { #expect(WireCodec.frameLength(of: message) == 2 + 16 + 73) }
    let decoded = try roundTrip(message)
    #expect(decoded == message)
    guard case .protocolMessage(.newViewAck(let result)) = decoded else { return }
    #expect(result.certificate.previousValue == result.certificate.newValue)
    #expect(result.certifiedDigest == acknowledgment.certifiedDigest)
  }

  @Test("a VIEW-CHANGE with the most PREPAREs round-trips")
  func maximalViewChange() throws {
    let prepares = (0..<WireLimits.defaultMaxViewChangePrepares).map {
      Prepare(
        view: 4, order: UInt64($0), batch: .empty,
        certificate: Fixtures.independent(issuer: 0, view: 4, order: UInt64($0)))
    }
    let message = WireMessage.protocolMessage(
      .viewChange(
        Fixtures.viewChange(replica: 1, checkpoint: Fixtures.stableCheckpoint(), prepares: prepares)
      ))
    #expect(try roundTrip(message) == message)
  }

  // MARK: Malformed input

  @Test("checkpoint presence bytes other than 0 and 1 are rejected, with nested field names")
  func invalidCheckpointPresence() {
    let viewChange = WireMessage.protocolMessage(
      .viewChange(Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: [])))
    var body = Array(Fixtures.body(viewChange).readableBytesView)
    // version, type, replica, fromView, toView, then the presence byte.
    let offset = 2 + 4 + 8 + 8
    for value: UInt8 in [2, 3, 0xFF] {
      body[offset] = value
      #expect(
        Fixtures.bodyError(body)
          == .invalidEnumValue(field: "viewChange.checkpoint", value: value))
    }
    let newView = WireMessage.protocolMessage(
      .newView(
        NewView(
          view: 5, viewChanges: [Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: [])],
          acknowledgments: [], prepares: [])))
    var nested = Array(Fixtures.body(newView).readableBytesView)
    // version, type, view, viewChanges count, then the VIEW-CHANGE.
    let nestedOffset = 2 + 8 + 2 + 4 + 8 + 8
    #expect(nested[nestedOffset] == 0)
    nested[nestedOffset] = 7
    #expect(
      Fixtures.bodyError(nested)
        == .invalidEnumValue(field: "newView.viewChanges.viewChange.checkpoint", value: 7))
  }

  private static let viewChangeHeader: [UInt8] =
    [WireCodec.protocolVersion, WireMessageType.viewChange.rawValue] + Fixtures.be(UInt32(1))
    + Fixtures.be(UInt64(4))
    + Fixtures.be(UInt64(5))
  private static let checkpointHeader: [UInt8] =
    viewChangeHeader + [1] + Fixtures.be(UInt64(100)) + [UInt8](repeating: 0, count: 32)
  private static let newViewHeader: [UInt8] =
    [WireCodec.protocolVersion, WireMessageType.newView.rawValue] + Fixtures.be(UInt64(5))
  private static let newViewAckHeader: [UInt8] =
    [WireCodec.protocolVersion, WireMessageType.newViewAck.rawValue] + Fixtures.be(UInt32(1))
    + Fixtures.be(UInt64(4))
  private static let padding = [UInt8](repeating: 0, count: 200)

  /// Bodies whose count field exceeds its limit, and the error each must fail with
  /// before anything is read past the count.
  static let oversizedCounts: [([UInt8], WireError)] = {
    let prepares = WireLimits.defaultMaxViewChangePrepares
    let entries = WireLimits.defaultMaxNewViewEntries
    let proof = WireLimits.defaultMaxCheckpointProofEntries
    func tooLarge(_ field: String, _ count: Int, _ limit: Int) -> WireError {
      .fieldTooLarge(field: field, count: count, limit: limit)
    }
    // A NEW-VIEW holding one VIEW-CHANGE whose fields stop at its prepares count.
    let nestedViewChange =
      newViewHeader + Fixtures.be(UInt16(1)) + Array(viewChangeHeader.dropFirst(2)) + [0]
    return [
      (
        viewChangeHeader + [0] + Fixtures.be(UInt32(prepares + 1)) + padding,
        tooLarge("viewChange.prepares", prepares + 1, prepares)
      ),
      (
        viewChangeHeader + [0] + Fixtures.be(UInt32.max) + padding,
        tooLarge("viewChange.prepares", Int(UInt32.max), prepares)
      ),
      (
        checkpointHeader + Fixtures.be(UInt16(proof + 1)) + padding,
        tooLarge("viewChange.checkpoint.proof", proof + 1, proof)
      ),
      (
        checkpointHeader + Fixtures.be(UInt16.max) + padding,
        tooLarge("viewChange.checkpoint.proof", Int(UInt16.max), proof)
      ),
      (
        newViewHeader + Fixtures.be(UInt16(entries + 1)) + padding,
        tooLarge("newView.viewChanges", entries + 1, entries)
      ),
      (
        newViewHeader + Fixtures.be(UInt16(0)) + Fixtures.be(UInt16.max) + padding,
        tooLarge("newView.acknowledgments", Int(UInt16.max), entries)
      ),
      (
        newViewHeader + Fixtures.be(UInt16(0)) + Fixtures.be(UInt16(0))
          + Fixtures.be(UInt32(prepares + 1)) + padding,
        tooLarge("newView.prepares", prepares + 1, prepares)
      ),
      (
        nestedViewChange + Fixtures.be(UInt32(prepares + 1)) + padding,
        tooLarge("newView.viewChanges.viewChange.prepares", prepares + 1, prepares)
      ),
      (
        newViewHeader + Fixtures.be(UInt16(0)) + Fixtures.be(UInt16(1))
          + Array(newViewAckHeader.dropFirst(2)) + Fixtures.be(UInt32.max) + padding,
        tooLarge("newView.acknowledgments.newViewAck.prepares", Int(UInt32.max), prepares)
      ),
      (
        newViewAckHeader + Fixtures.be(UInt32(prepares + 1)) + padding,
        tooLarge("newViewAck.prepares", prepares + 1, prepares)
      ),
    ]
  }()

  @Test("counts above their limit are rejected before anything is allocated")
  func oversizedCountsRejected() {
    for (body, error) in Self.oversizedCounts {
      #expect(Fixtures.bodyError(body) == error)
    }
  }

  @Test("counts within their limit are checked against the readable bytes before allocating")
  func countsBeyondTheFrame() {
    let prepares = WireLimits.defaultMaxViewChangePrepares
    let cases: [([UInt8], String)] = [
      (viewChangeAt(prepares: UInt32(prepares)), "viewChange.prepares"),
      (
        Self.checkpointHeader + Fixtures.be(UInt16(255)) + Self.padding,
        "viewChange.checkpoint.proof"
      ),
      (Self.newViewHeader + Fixtures.be(UInt16(255)) + Self.padding, "newView.viewChanges"),
      (
        Self.newViewHeader + Fixtures.be(UInt16(0)) + Fixtures.be(UInt16(255)) + Self.padding,
        "newView.acknowledgments"
      ),
      (
        Self.newViewHeader + Fixtures.be(UInt16(0)) + Fixtures.be(UInt16(0))
          + Fixtures.be(UInt32(prepares)) + Self.padding,
        "newView.prepares"
      ),
      (
        Self.newViewAckHeader + Fixtures.be(UInt32(prepares)) + Self.padding,
        "newViewAck.prepares"
      ),
    ]
    for (body, field) in cases {
      #expect(Fixtures.bodyError(body) == .truncated(field: field))
    }
    // Even under the widest limits the wire fields allow, a huge count in a tiny
    // frame fails as truncated: no capacity is reserved for it.
    let widest = WireLimits(
      maxViewChangePrepares: Int(UInt32.max), maxNewViewEntries: Int(UInt16.max),
      maxCheckpointProofEntries: Int(UInt16.max))
    #expect(
      Fixtures.bodyError(viewChangeAt(prepares: .max), limits: widest)
        == .truncated(field: "viewChange.prepares"))
    #expect(
      Fixtures.bodyError(Self.checkpointHeader + Fixtures.be(UInt16.max), limits: widest)
        == .truncated(field: "viewChange.checkpoint.proof"))
    #expect(
      Fixtures.bodyError(Self.newViewHeader + Fixtures.be(UInt16.max), limits: widest)
        == .truncated(field: "newView.viewChanges"))
  }

  private func viewChangeAt(prepares count: UInt32) -> [UInt8] {
    Self.viewChangeHeader + [0] + Fixtures.be(count) + Self.padding
  }

  @Test("validate refuses what a receiver with the same limits refuses, by the same field")
  func validateMirrorsDecoder() throws {
    let small = WireLimits(
      maxPayloadBytes: 4, maxViewChangePrepares: 1, maxNewViewEntries: 1,
      maxCheckpointProofEntries: 1)
    let bigRequest = Request(
      client: 1, lane: 0, sequence: 1, operation: [1, 2, 3, 4, 5], authenticator: [])
    let bigPrepare = Prepare(
      view: 4, order: 9, batch: Batch(requests: [bigRequest]),
      certificate: Fixtures.independent(issuer: 0, view: 4, order: 9))
    let cases: [(WireMessage, WireError)] = [
      (
        .protocolMessage(
          .viewChange(
            Fixtures.viewChange(replica: 0, checkpoint: Fixtures.stableCheckpoint(), prepares: []))
        ),
        .fieldTooLarge(field: "viewChange.checkpoint.proof", count: 2, limit: 1)
      ),
      (
        .protocolMessage(
          .viewChange(
            Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: Fixtures.prepares()))),
        .fieldTooLarge(field: "viewChange.prepares", count: 2, limit: 1)
      ),
      (
        .protocolMessage(
          .viewChange(Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: [bigPrepare]))),
        .fieldTooLarge(
          field: "viewChange.prepares.prepare.batch.request.operation", count: 5, limit: 4)
      ),
      (
        .protocolMessage(
          .newView(
            NewView(
              view: 5,
              viewChanges: [
                Fixtures.viewChange(replica: 0, checkpoint: nil, prepares: []),
                Fixtures.viewChange(replica: 1, checkpoint: nil, prepares: []),
              ], acknowledgments: [], prepares: []))),
        .fieldTooLarge(field: "newView.viewChanges", count: 2, limit: 1)
      ),
      (
        .protocolMessage(
          .newView(
            NewView(
              view: 5, viewChanges: [],
              acknowledgments: [Fixtures.newViewAck(prepares: [bigPrepare])], prepares: []))),
        .fieldTooLarge(
          field: "newView.acknowledgments.newViewAck.prepares.prepare.batch.request.operation",
          count: 5, limit: 4)
      ),
      (
        .protocolMessage(
          .newView(
            NewView(
              view: 5, viewChanges: [],
              acknowledgments: [
                Fixtures.newViewAck(prepares: []), Fixtures.newViewAck(prepares: []),
              ],
              prepares: []))),
        .fieldTooLarge(field: "newView.acknowledgments", count: 2, limit: 1)
      ),
      (
        .protocolMessage(
          .newView(
            NewView(
              view: 5, viewChanges: [], acknowledgments: [], prepares: Fixtures.prepares(view: 5)))),
        .fieldTooLarge(field: "newView.prepares", count: 2, limit: 1)
      ),
      (
        .protocolMessage(.newViewAck(Fixtures.newViewAck(prepares: Fixtures.prepares()))),
        .fieldTooLarge(field: "newViewAck.prepares", count: 2, limit: 1)
      ),
    ]
    for (message, error) in cases {
      #expect(throws: error) { try WireCodec.validate(message, limits: small) }
      // Encoded anyway, a receiver with the same limits rejects it the same way.
      #expect(
        Fixtures.bodyError(Array(Fixtures.body(message).readableBytesView), limits: small) == error)
      // Under the default limits it is fine.
      try WireCodec.validate(message)
    }
  }
}
