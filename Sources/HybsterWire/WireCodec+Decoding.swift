import HybsterCore
import NIOCore
import TrInX

extension WireCodec {
  /// Decodes one frame *body*: the bytes after the length field (version, type,
  /// payload), which must be consumed exactly.
  ///
  /// Total: any input yields a message or a ``WireError``. No length read from the
  /// input is trusted: each is checked against `limits` and against the readable
  /// bytes before anything is allocated for it. On error the reader index is
  /// unspecified; the frame must be discarded (and its connection closed).
  public static func decode(frame: inout ByteBuffer, limits: WireLimits = .default)
    throws(WireError) -> WireMessage
  {
    guard frame.readableBytes <= limits.maxFrameLength else {
      throw .frameTooLarge(length: frame.readableBytes, limit: limits.maxFrameLength)
    }
    let version: UInt8 = try frame.readWire("version")
    guard version == protocolVersion else { throw .unknownVersion(version) }
    let rawType: UInt8 = try frame.readWire("type")
    guard let type = WireMessageType(rawValue: rawType) else {
      throw .unknownMessageType(rawType)
    }
    let message: WireMessage
    switch type {
    case .hello: message = .hello(try readHello(&frame))
    case .challenge:
      guard let nonce = frame.readBytes(length: HandshakeChallenge.byteCount) else {
        throw .truncated(field: "challenge.nonce")
      }
      message = .challenge(HandshakeChallenge(nonce: nonce))
    case .proof: message = .proof(HandshakeProof(mac: try frame.readTag("proof.mac")))
    case .request: message = .request(try readRequest(&frame, "request", limits))
    case .reply: message = .reply(try readReply(&frame, limits))
    case .refused: message = .refused(try readRefusal(&frame))
    case .prepare:
      message = .protocolMessage(.prepare(try readPrepare(&frame, "prepare", limits)))
    case .commit: message = .protocolMessage(.commit(try readCommit(&frame)))
    case .checkpoint:
      message = .protocolMessage(.checkpoint(try readCheckpoint(&frame, "checkpoint")))
    case .forwardedRequest:
      message = .protocolMessage(.forwardedRequest(try readRequest(&frame, "request", limits)))
    case .status: message = .protocolMessage(.status(try readStatus(&frame)))
    case .viewChange:
      message = .protocolMessage(.viewChange(try readViewChange(&frame, "viewChange", limits)))
    case .newView: message = .protocolMessage(.newView(try readNewView(&frame, limits)))
    case .newViewAck:
      message = .protocolMessage(.newViewAck(try readNewViewAck(&frame, "newViewAck", limits)))
    case .stateRequest:
      let replica: ReplicaID = try frame.readWire("stateRequest.replica")
      let order: OrderNumber = try frame.readNumber("stateRequest.order")
      message = .stateRequest(StateRequest(replica: replica, order: order))
    case .stateChunk: message = .stateChunk(try readStateChunk(&frame, limits))
    }
    guard frame.readableBytes == 0 else { throw .trailingBytes(count: frame.readableBytes) }
    return message
  }

  /// Decodes the first complete length-prefixed frame at the front of `buffer`,
  /// consuming it; `nil`, consuming nothing, when the frame is still incomplete.
  ///
  /// Throws ``WireError/frameTooLarge(length:limit:)`` as soon as the length field
  /// exceeds the limit, before the frame's bytes are waited for.
  public static func decodeFrame(from buffer: inout ByteBuffer, limits: WireLimits = .default)
    throws(WireError) -> WireMessage?
  {
    guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
      return nil
    }
    guard UInt64(length) <= UInt64(limits.maxFrameLength) else {
      throw .frameTooLarge(length: Int(length), limit: limits.maxFrameLength)
    }
    let bodyLength = Int(length)
    guard buffer.readableBytes - lengthFieldBytes >= bodyLength else { return nil }
    buffer.moveReaderIndex(forwardBy: lengthFieldBytes)
    guard var body = buffer.readSlice(length: bodyLength) else { return nil }
    return try decode(frame: &body, limits: limits)
  }

  // MARK: Readers

  private static func readHello(_ buffer: inout ByteBuffer) throws(WireError) -> Hello {
    let version: UInt8 = try buffer.readWire("hello.protocolVersion")
    let roleByte: UInt8 = try buffer.readWire("hello.role")
    let id: UInt32 = try buffer.readWire("hello.id")
    switch HelloRoleByte(rawValue: roleByte) {
    case .replica: return Hello(role: .replica(id), protocolVersion: version)
    case .client: return Hello(role: .client(id), protocolVersion: version)
    case nil: throw .invalidEnumValue(field: "hello.role", value: roleByte)
    }
  }

  private static func readRequest(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String, _ limits: WireLimits
  ) throws(WireError) -> Request {
    let client: ClientID = try buffer.readWire(field() + ".client")
    let lane: UInt32 = try buffer.readWire(field() + ".lane")
    let sequence: UInt64 = try buffer.readNumber(field() + ".sequence")
    let operation = try buffer.readByteString(field() + ".operation", limit: limits.maxPayloadBytes)
    func authenticatorField() -> String { field() + ".authenticator" }
    let count = Int(try buffer.readWire(authenticatorField()) as UInt16)
    guard count <= limits.maxAuthenticatorEntries else {
      throw .fieldTooLarge(
        field: authenticatorField(), count: count, limit: limits.maxAuthenticatorEntries)
    }
    guard count <= buffer.readableBytes / AuthenticationTag.byteCount else {
      throw .truncated(field: authenticatorField())
    }
    var authenticator: [AuthenticationTag] = []
    authenticator.reserveCapacity(count)
    for _ in 0..<count { authenticator.append(try buffer.readTag(authenticatorField())) }
    return Request(
      client: client, lane: lane, sequence: sequence, operation: operation,
      authenticator: authenticator, signature: try readSignature(&buffer, field() + ".signature"))
  }

  private static func readRefusal(_ buffer: inout ByteBuffer) throws(WireError) -> Refusal {
    let lane: UInt32 = try buffer.readWire("refused.lane")
    let sequence: UInt64 = try buffer.readWire("refused.sequence")
    let rawReason: UInt8 = try buffer.readWire("refused.reason")
    guard let reason = Refusal.Reason(rawValue: rawReason) else {
      throw .invalidEnumValue(field: "refused.reason", value: rawReason)
    }
    let count = Int(try buffer.readWire("refused.detail") as UInt8)
    guard let bytes = buffer.readBytes(length: count) else {
      throw .truncated(field: "refused.detail")
    }
    guard let detail = String(validating: bytes, as: UTF8.self) else {
      throw .notCanonical(field: "refused.detail")
    }
    return Refusal(lane: lane, sequence: sequence, reason: reason, detail: detail)
  }

  private static func readSignature(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String
  ) throws(WireError) -> RequestSignature? {
    let flag: UInt8 = try buffer.readWire(field())
    switch flag {
    case 0: return nil
    case 1: break
    default: throw .invalidEnumValue(field: field(), value: flag)
    }
    guard let signature = buffer.readBytes(length: RequestSignature.signatureByteCount) else {
      throw .truncated(field: field())
    }
    let index: UInt32 = try buffer.readWire(field() + ".index")
    let count = Int(try buffer.readWire(field() + ".path") as UInt8)
    guard count <= RequestSignature.maxPathLength else {
      throw .fieldTooLarge(
        field: field() + ".path", count: count, limit: RequestSignature.maxPathLength)
    }
    guard UInt64(index) >> count == 0 else { throw .notCanonical(field: field() + ".index") }
    var path: [Digest] = []
    path.reserveCapacity(count)
    for _ in 0..<count { path.append(try buffer.readDigest(field() + ".path")) }
    return RequestSignature(signature: signature, index: index, path: path)
  }

  private static func readReply(_ buffer: inout ByteBuffer, _ limits: WireLimits)
    throws(WireError) -> Reply
  {
    let client: ClientID = try buffer.readWire("reply.client")
    let lane: UInt32 = try buffer.readWire("reply.lane")
    let sequence: UInt64 = try buffer.readNumber("reply.sequence")
    let replica: ReplicaID = try buffer.readWire("reply.replica")
    let view: View = try buffer.readNumber("reply.view")
    let result = try buffer.readByteString("reply.result", limit: limits.maxPayloadBytes)
    let tag = try buffer.readTag("reply.tag")
    return Reply(
      client: client, lane: lane, sequence: sequence, replica: replica, view: view,
      result: result, tag: tag)
  }

  private static func readPrepare(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String, _ limits: WireLimits
  ) throws(WireError) -> Prepare {
    let view: View = try buffer.readNumber(field() + ".view")
    let order: OrderNumber = try buffer.readNumber(field() + ".order")
    func batchField() -> String { field() + ".batch" }
    let rawCount: UInt32 = try buffer.readWire(batchField())
    guard UInt64(rawCount) <= UInt64(limits.maxBatchCount) else {
      throw .fieldTooLarge(field: batchField(), count: Int(rawCount), limit: limits.maxBatchCount)
    }
    let count = Int(rawCount)
    guard count <= buffer.readableBytes / requestFixedBytes else {
      throw .truncated(field: batchField())
    }
    var requests: [Request] = []
    requests.reserveCapacity(count)
    for _ in 0..<count {
      requests.append(try readRequest(&buffer, batchField() + ".request", limits))
    }
    let certificate = try buffer.readCertificate(field() + ".certificate")
    return Prepare(
      view: view, order: order, batch: Batch(requests: requests), certificate: certificate)
  }

  private static func readCommit(_ buffer: inout ByteBuffer) throws(WireError) -> Commit {
    let view: View = try buffer.readNumber("commit.view")
    let order: OrderNumber = try buffer.readNumber("commit.order")
    let batchDigest = try buffer.readDigest("commit.batchDigest")
    let replica: ReplicaID = try buffer.readWire("commit.replica")
    let certificate = try buffer.readCertificate("commit.certificate")
    return Commit(
      view: view, order: order, batchDigest: batchDigest, replica: replica,
      certificate: certificate)
  }

  private static func readCheckpoint(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String
  ) throws(WireError) -> CheckpointMessage {
    let order: OrderNumber = try buffer.readNumber(field() + ".order")
    let stateDigest = try buffer.readDigest(field() + ".stateDigest")
    let replica: ReplicaID = try buffer.readWire(field() + ".replica")
    let certificate = try buffer.readCertificate(field() + ".certificate")
    return CheckpointMessage(
      order: order, stateDigest: stateDigest, replica: replica, certificate: certificate)
  }

  private static func readStateChunk(_ buffer: inout ByteBuffer, _ limits: WireLimits)
    throws(WireError) -> StateChunk
  {
    let order: OrderNumber = try buffer.readNumber("stateChunk.order")
    let stateDigest = try buffer.readDigest("stateChunk.stateDigest")
    let totalBytes: UInt64 = try buffer.readWire("stateChunk.totalBytes")
    let offset: UInt64 = try buffer.readWire("stateChunk.offset")
    let bytes = try buffer.readByteString("stateChunk.bytes", limit: limits.maxPayloadBytes)
    return StateChunk(
      order: order, stateDigest: stateDigest, totalBytes: totalBytes, offset: offset, bytes: bytes)
  }

  private static func readStatus(_ buffer: inout ByteBuffer) throws(WireError) -> StatusMessage {
    let replica: ReplicaID = try buffer.readWire("status.replica")
    let view: View = try buffer.readNumber("status.view")
    let nextDelivery: OrderNumber = try buffer.readNumber("status.nextDelivery")
    return StatusMessage(replica: replica, view: view, nextDelivery: nextDelivery)
  }

  private static func readViewChange(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String, _ limits: WireLimits
  ) throws(WireError) -> ViewChange {
    let replica: ReplicaID = try buffer.readWire(field() + ".replica")
    let fromView: View = try buffer.readNumber(field() + ".fromView")
    let toView: View = try buffer.readNumber(field() + ".toView")
    func checkpointField() -> String { field() + ".checkpoint" }
    let presence: UInt8 = try buffer.readWire(checkpointField())
    let checkpoint: StableCheckpoint?
    switch CheckpointPresenceByte(rawValue: presence) {
    case .absent:
      checkpoint = nil
    case .present:
      let order: OrderNumber = try buffer.readNumber(checkpointField() + ".order")
      let stateDigest = try buffer.readDigest(checkpointField() + ".stateDigest")
      func proofField() -> String { checkpointField() + ".proof" }
      let proof = try readArray(
        &buffer, proofField(), count: UInt16.self, limit: limits.maxCheckpointProofEntries,
        minimumElementBytes: checkpointFixedBytes + independentCertificateBytes
      ) { (buffer: inout ByteBuffer) throws(WireError) in
        try readCheckpoint(&buffer, proofField() + ".checkpoint")
      }
      checkpoint = StableCheckpoint(order: order, stateDigest: stateDigest, proof: proof)
    case nil:
      throw .invalidEnumValue(field: checkpointField(), value: presence)
    }
    let prepares = try readPrepares(&buffer, field() + ".prepares", limits)
    let certificate = try buffer.readCertificate(field() + ".certificate")
    return ViewChange(
      replica: replica, fromView: fromView, toView: toView, checkpoint: checkpoint,
      prepares: prepares, certificate: certificate)
  }

  private static func readNewView(_ buffer: inout ByteBuffer, _ limits: WireLimits)
    throws(WireError) -> NewView
  {
    let view: View = try buffer.readNumber("newView.view")
    let viewChanges = try readArray(
      &buffer, "newView.viewChanges", count: UInt16.self, limit: limits.maxNewViewEntries,
      minimumElementBytes: viewChangeFixedBytes + independentCertificateBytes
    ) { (buffer: inout ByteBuffer) throws(WireError) in
      try readViewChange(&buffer, "newView.viewChanges.viewChange", limits)
    }
    let acknowledgments = try readArray(
      &buffer, "newView.acknowledgments", count: UInt16.self, limit: limits.maxNewViewEntries,
      minimumElementBytes: newViewAckFixedBytes + independentCertificateBytes
    ) { (buffer: inout ByteBuffer) throws(WireError) in
      try readNewViewAck(&buffer, "newView.acknowledgments.newViewAck", limits)
    }
    let prepares = try readPrepares(&buffer, "newView.prepares", limits)
    return NewView(
      view: view, viewChanges: viewChanges, acknowledgments: acknowledgments, prepares: prepares)
  }

  private static func readNewViewAck(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String, _ limits: WireLimits
  ) throws(WireError) -> NewViewAck {
    let replica: ReplicaID = try buffer.readWire(field() + ".replica")
    let view: View = try buffer.readNumber(field() + ".view")
    let prepares = try readPrepares(&buffer, field() + ".prepares", limits)
    let certificate = try buffer.readCertificate(field() + ".certificate")
    return NewViewAck(
      replica: replica, view: view, prepares: prepares, certificate: certificate)
  }

  /// Reads a `Prepare[u32]` bounded by ``WireLimits/maxViewChangePrepares``.
  private static func readPrepares(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String, _ limits: WireLimits
  ) throws(WireError) -> [Prepare] {
    try readArray(
      &buffer, field(), count: UInt32.self, limit: limits.maxViewChangePrepares,
      minimumElementBytes: prepareFixedBytes + independentCertificateBytes
    ) { (buffer: inout ByteBuffer) throws(WireError) in
      try readPrepare(&buffer, field() + ".prepare", limits)
    }
  }

  /// Reads a `T[u16]` or `T[u32]`: checks the count against `limit`, then against
  /// the readable bytes at `minimumElementBytes` per element, and only then
  /// allocates and reads the elements.
  private static func readArray<Count: FixedWidthInteger & UnsignedInteger, Element>(
    _ buffer: inout ByteBuffer, _ field: @autoclosure () -> String, count: Count.Type,
    limit: Int, minimumElementBytes: Int,
    _ readElement: (inout ByteBuffer) throws(WireError) -> Element
  ) throws(WireError) -> [Element] {
    let rawCount: Count = try buffer.readWire(field())
    guard UInt64(rawCount) <= UInt64(limit) else {
      throw .fieldTooLarge(field: field(), count: Int(rawCount), limit: limit)
    }
    let count = Int(rawCount)
    guard count <= buffer.readableBytes / minimumElementBytes else {
      throw .truncated(field: field())
    }
    var elements: [Element] = []
    elements.reserveCapacity(count)
    for _ in 0..<count { elements.append(try readElement(&buffer)) }
    return elements
  }
}

extension ByteBuffer {
  /// Reads a big-endian integer or fails with ``WireError/truncated(field:)``.
  mutating func readWire<T: FixedWidthInteger>(_ field: @autoclosure () -> String)
    throws(WireError)
    -> T
  {
    guard let value = readInteger(endianness: .big, as: T.self) else {
      throw .truncated(field: field())
    }
    return value
  }

  /// Reads a view, order number, sequence number or counter value, which must lie
  /// within ``ProtocolNumbers/limit``.
  mutating func readNumber(_ field: @autoclosure () -> String) throws(WireError) -> UInt64 {
    let value: UInt64 = try readWire(field())
    guard ProtocolNumbers.isValid(value) else {
      throw .numberOutOfRange(field: field(), value: value, limit: ProtocolNumbers.limit)
    }
    return value
  }

  /// Reads a u32-length-prefixed byte string, checking the length against `limit`
  /// and the readable bytes before allocating.
  mutating func readByteString(_ field: @autoclosure () -> String, limit: Int)
    throws(WireError)
    -> [UInt8]
  {
    let rawLength: UInt32 = try readWire(field())
    guard UInt64(rawLength) <= UInt64(limit) else {
      throw .fieldTooLarge(field: field(), count: Int(rawLength), limit: limit)
    }
    guard let bytes = readBytes(length: Int(rawLength)) else { throw .truncated(field: field()) }
    return bytes
  }

  mutating func readDigest(_ field: @autoclosure () -> String) throws(WireError)
    -> Digest
  {
    guard readableBytes >= Digest.byteCount else { throw .truncated(field: field()) }
    let digest = withUnsafeReadableBytes { Digest(raw: $0) }
    moveReaderIndex(forwardBy: Digest.byteCount)
    return digest
  }

  mutating func readTag(_ field: @autoclosure () -> String) throws(WireError)
    -> TrInXMAC
  {
    guard readableBytes >= TrInXMAC.byteCount else { throw .truncated(field: field()) }
    let tag = withUnsafeReadableBytes { TrInXMAC(raw: $0) }
    moveReaderIndex(forwardBy: TrInXMAC.byteCount)
    return tag
  }

  mutating func readCertificate(_ field: @autoclosure () -> String) throws(WireError)
    -> Certificate
  {
    let issuer: TrInXInstanceID = try readWire(field() + ".issuer")
    let counter: TrInXCounterID = try readWire(field() + ".counter")
    func kindField() -> String { field() + ".kind" }
    let rawKind: UInt8 = try readWire(kindField())
    let newHigh: UInt64 = try readNumber(field() + ".newValue")
    let newLow: UInt64 = try readNumber(field() + ".newValue")
    let previous: CounterValue?
    switch CertificateKind(rawValue: rawKind) {
    case .independent:
      previous = nil
    case .continuing:
      let high: UInt64 = try readNumber(field() + ".previousValue")
      let low: UInt64 = try readNumber(field() + ".previousValue")
      previous = CounterValue(high: high, low: low)
    case .multiIndependent, .multiContinuing, nil:
      throw .invalidEnumValue(field: kindField(), value: rawKind)
    }
    let mac = try readTag(field() + ".mac")
    return Certificate(
      issuer: issuer, counter: counter, newValue: CounterValue(high: newHigh, low: newLow),
      previousValue: previous, mac: mac)
  }
}
