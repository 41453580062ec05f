import HybsterCore
import NIOCore
import TrInX

/// The binary codec for every ``WireMessage`` (§5.2); the format is specified in
/// `docs/wire-format.md`.
///
/// A frame is `length: u32 | version: u8 | type: u8 | payload`, all integers
/// big-endian, where `length` counts the bytes after the length field.
/// Encoding writes straight into the caller's buffer (one capacity reservation, no
/// intermediate buffers); decoding is total and bounded by ``WireLimits``.
public enum WireCodec {
  /// The wire version this implementation writes and accepts.
  public static let protocolVersion: UInt8 = 2
  /// The bytes of the length field.
  public static let lengthFieldBytes = 4
  /// The bytes between the length field and the payload (version and type).
  public static let headerBytes = 2

  // MARK: Encoding

  /// Appends one complete frame, length field included, to `buffer`.
  ///
  /// The frame is written faithfully even if it exceeds a receiver's
  /// ``WireLimits``; call ``validate(_:limits:)`` first where the message was not
  /// itself decoded under the same limits (``FrameEncoder`` does).
  ///
  /// - Precondition: every count fits its wire field: at most 65,535 authenticator
  ///   entries, checkpoint proof entries, VIEW-CHANGEs or NEW-VIEW-ACKs, at most
  ///   2³²−1 requests, PREPAREs or bytes, and a frame length below 2³².
  public static func encode(_ message: WireMessage, into buffer: inout ByteBuffer) {
    let length = frameLength(of: message)
    precondition(length <= Int(UInt32.max), "frame too long for its length field")
    buffer.reserveCapacity(minimumWritableBytes: lengthFieldBytes + length)
    buffer.writeInteger(UInt32(length))
    let start = buffer.writerIndex
    buffer.writeInteger(protocolVersion)
    buffer.writeInteger(message.type.rawValue)
    switch message {
    case .hello(let hello): write(hello, into: &buffer)
    case .challenge(let challenge): buffer.writeBytes(challenge.nonce)
    case .proof(let proof): write(proof.mac, into: &buffer)
    case .request(let request): write(request, into: &buffer)
    case .reply(let reply): write(reply, into: &buffer)
    case .refused(let refusal):
      buffer.writeInteger(refusal.lane)
      buffer.writeInteger(refusal.sequence)
      buffer.writeInteger(refusal.reason.rawValue)
      let detail = refusal.detailBytes
      buffer.writeInteger(UInt8(detail.count))
      buffer.writeBytes(detail)
    case .stateRequest(let request):
      buffer.writeInteger(request.replica)
      buffer.writeInteger(request.order)
    case .stateChunk(let chunk):
      buffer.writeInteger(chunk.order)
      write(chunk.stateDigest, into: &buffer)
      buffer.writeInteger(chunk.totalBytes)
      buffer.writeInteger(chunk.offset)
      writeByteString(chunk.bytes, into: &buffer)
    case .protocolMessage(let message):
      switch message {
      case .prepare(let prepare): write(prepare, into: &buffer)
      case .commit(let commit): write(commit, into: &buffer)
      case .checkpoint(let checkpoint): write(checkpoint, into: &buffer)
      case .forwardedRequest(let request): write(request, into: &buffer)
      case .status(let status): write(status, into: &buffer)
      case .viewChange(let viewChange): write(viewChange, into: &buffer)
      case .newView(let newView): write(newView, into: &buffer)
      case .newViewAck(let acknowledgment): write(acknowledgment, into: &buffer)
      }
    }
    assert(buffer.writerIndex - start == length, "frameLength(of:) disagrees with encode")
  }

  /// The value of the frame's length field for `message`: the bytes after the
  /// length field. The whole frame is ``lengthFieldBytes`` longer.
  public static func frameLength(of message: WireMessage) -> Int {
    let payload: Int
    switch message {
    case .hello: payload = helloBytes
    case .challenge: payload = HandshakeChallenge.byteCount
    case .proof: payload = AuthenticationTag.byteCount
    case .request(let request): payload = encodedLength(of: request)
    case .reply(let reply): payload = replyFixedBytes + reply.result.count
    case .refused(let refusal): payload = 4 + 8 + 1 + 1 + refusal.detailBytes.count
    case .stateRequest: payload = stateRequestBytes
    case .stateChunk(let chunk): payload = stateChunkFixedBytes + chunk.bytes.count
    case .protocolMessage(let message):
      switch message {
      case .prepare(let prepare): payload = encodedLength(of: prepare)
      case .commit(let commit):
        payload = commitFixedBytes + encodedLength(of: commit.certificate)
      case .checkpoint(let checkpoint): payload = encodedLength(of: checkpoint)
      case .forwardedRequest(let request): payload = encodedLength(of: request)
      case .status: payload = statusBytes
      case .viewChange(let viewChange): payload = encodedLength(of: viewChange)
      case .newView(let newView):
        var total = newViewFixedBytes + encodedLength(of: newView.prepares)
        for viewChange in newView.viewChanges { total += encodedLength(of: viewChange) }
        for acknowledgment in newView.acknowledgments {
          total += encodedLength(of: acknowledgment)
        }
        payload = total
      case .newViewAck(let acknowledgment): payload = encodedLength(of: acknowledgment)
      }
    }
    return headerBytes + payload
  }

  /// Checks `message` against `limits` as a receiver would, without encoding it.
  ///
  /// A message that passes is encoded by ``encode(_:into:)`` into a frame that a
  /// receiver with the same limits decodes back to an equal message.
  public static func validate(_ message: WireMessage, limits: WireLimits = .default)
    throws(WireError)
  {
    switch message {
    case .hello, .challenge, .proof, .refused, .protocolMessage(.commit),
      .protocolMessage(.checkpoint),
      .protocolMessage(.status), .stateRequest:
      break
    case .stateChunk(let chunk):
      try check(chunk.bytes.count, field: "stateChunk.bytes", limit: limits.maxPayloadBytes)
    case .request(let request), .protocolMessage(.forwardedRequest(let request)):
      try validate(request, field: "request", limits: limits)
    case .reply(let reply):
      try check(reply.result.count, field: "reply.result", limit: limits.maxPayloadBytes)
    case .protocolMessage(.prepare(let prepare)):
      try validate(prepare, field: "prepare", limits: limits)
    case .protocolMessage(.viewChange(let viewChange)):
      try validate(viewChange, field: "viewChange", limits: limits)
    case .protocolMessage(.newView(let newView)):
      try check(
        newView.viewChanges.count, field: "newView.viewChanges", limit: limits.maxNewViewEntries)
      for viewChange in newView.viewChanges {
        try validate(viewChange, field: "newView.viewChanges.viewChange", limits: limits)
      }
      try check(
        newView.acknowledgments.count, field: "newView.acknowledgments",
        limit: limits.maxNewViewEntries)
      for acknowledgment in newView.acknowledgments {
        try validate(
          acknowledgment.prepares, field: "newView.acknowledgments.newViewAck.prepares",
          limits: limits)
      }
      try validate(newView.prepares, field: "newView.prepares", limits: limits)
    case .protocolMessage(.newViewAck(let acknowledgment)):
      try validate(acknowledgment.prepares, field: "newViewAck.prepares", limits: limits)
    }
    let length = frameLength(of: message)
    guard length <= limits.maxFrameLength else {
      throw .frameTooLarge(length: length, limit: limits.maxFrameLength)
    }
  }

  private static func validate(_ request: Request, field: String, limits: WireLimits)
    throws(WireError)
  {
    try check(request.operation.count, field: field + ".operation", limit: limits.maxPayloadBytes)
    try check(
      request.authenticator.count, field: field + ".authenticator",
      limit: limits.maxAuthenticatorEntries)
  }

  private static func validate(_ prepare: Prepare, field: String, limits: WireLimits)
    throws(WireError)
  {
    let requests = prepare.batch.requests
    try check(requests.count, field: field + ".batch", limit: limits.maxBatchCount)
    for request in requests {
      try validate(request, field: field + ".batch.request", limits: limits)
    }
  }

  private static func validate(_ prepares: [Prepare], field: String, limits: WireLimits)
    throws(WireError)
  {
    try check(prepares.count, field: field, limit: limits.maxViewChangePrepares)
    for prepare in prepares { try validate(prepare, field: field + ".prepare", limits: limits) }
  }

  private static func validate(_ viewChange: ViewChange, field: String, limits: WireLimits)
    throws(WireError)
  {
    if let checkpoint = viewChange.checkpoint {
      try check(
        checkpoint.proof.count, field: field + ".checkpoint.proof",
        limit: limits.maxCheckpointProofEntries)
    }
    try validate(viewChange.prepares, field: field + ".prepares", limits: limits)
  }

  private static func check(_ count: Int, field: String, limit: Int) throws(WireError) {
    guard count <= limit else { throw .fieldTooLarge(field: field, count: count, limit: limit) }
  }

  // MARK: Sizes

  static let helloBytes = 1 + 1 + 4
  static let requestFixedBytes = 4 + 4 + 8 + 4 + 2 + 1
  static let replyFixedBytes = 4 + 4 + 8 + 4 + 8 + 4 + AuthenticationTag.byteCount
  static let prepareFixedBytes = 8 + 8 + 4
  static let commitFixedBytes = 8 + 8 + Digest.byteCount + 4
  static let checkpointFixedBytes = 8 + Digest.byteCount + 4
  static let statusBytes = 4 + 8 + 8
  /// replica, fromView, toView, checkpoint presence, prepares count.
  static let viewChangeFixedBytes = 4 + 8 + 8 + 1 + 4
  /// A present checkpoint: order, stateDigest, proof count.
  static let stableCheckpointFixedBytes = 8 + Digest.byteCount + 2
  /// view, viewChanges count, acknowledgments count, prepares count.
  static let newViewFixedBytes = 8 + 2 + 2 + 4
  /// replica, view, prepares count.
  static let newViewAckFixedBytes = 4 + 8 + 4
  static let stateRequestBytes = 4 + 8
  static let stateChunkFixedBytes = 8 + Digest.byteCount + 8 + 8 + 4
  static let independentCertificateBytes = 4 + 4 + 1 + 16 + TrInXMAC.byteCount
  static let continuingCertificateBytes = independentCertificateBytes + 16

  static func encodedLength(of request: Request) -> Int { request.byteCount }

  static func encodedLength(of certificate: Certificate) -> Int {
    certificate.previousValue == nil ? independentCertificateBytes : continuingCertificateBytes
  }

  static func encodedLength(of prepare: Prepare) -> Int {
    var total = prepareFixedBytes + encodedLength(of: prepare.certificate)
    for request in prepare.batch.requests { total += encodedLength(of: request) }
    return total
  }

  /// The PREPAREs alone, without their count.
  static func encodedLength(of prepares: [Prepare]) -> Int {
    var total = 0
    for prepare in prepares { total += encodedLength(of: prepare) }
    return total
  }

  static func encodedLength(of checkpoint: CheckpointMessage) -> Int {
    checkpointFixedBytes + encodedLength(of: checkpoint.certificate)
  }

  static func encodedLength(of viewChange: ViewChange) -> Int {
    var total =
      viewChangeFixedBytes + encodedLength(of: viewChange.prepares)
      + encodedLength(of: viewChange.certificate)
    if let checkpoint = viewChange.checkpoint {
      total += stableCheckpointFixedBytes
      for message in checkpoint.proof { total += encodedLength(of: message) }
    }
    return total
  }

  static func encodedLength(of acknowledgment: NewViewAck) -> Int {
    newViewAckFixedBytes + encodedLength(of: acknowledgment.prepares)
      + encodedLength(of: acknowledgment.certificate)
  }

  // MARK: Writers

  private static func write(_ hello: Hello, into buffer: inout ByteBuffer) {
    buffer.writeInteger(hello.protocolVersion)
    switch hello.role {
    case .replica(let replica):
      buffer.writeInteger(HelloRoleByte.replica.rawValue)
      buffer.writeInteger(replica)
    case .client(let client):
      buffer.writeInteger(HelloRoleByte.client.rawValue)
      buffer.writeInteger(client)
    }
  }

  private static func write(_ request: Request, into buffer: inout ByteBuffer) {
    buffer.writeInteger(request.client)
    buffer.writeInteger(request.lane)
    buffer.writeInteger(request.sequence)
    writeByteString(request.operation, into: &buffer)
    precondition(request.authenticator.count <= Int(UInt16.max), "authenticator too long")
    buffer.writeInteger(UInt16(request.authenticator.count))
    for tag in request.authenticator { write(tag, into: &buffer) }
    guard let signature = request.signature else {
      buffer.writeInteger(UInt8(0))
      return
    }
    precondition(
      signature.signature.count == RequestSignature.signatureByteCount
        && signature.path.count <= RequestSignature.maxPathLength, "malformed request signature")
    buffer.writeInteger(UInt8(1))
    buffer.writeBytes(signature.signature)
    buffer.writeInteger(signature.index)
    buffer.writeInteger(UInt8(signature.path.count))
    for digest in signature.path { write(digest, into: &buffer) }
  }

  private static func write(_ reply: Reply, into buffer: inout ByteBuffer) {
    buffer.writeInteger(reply.client)
    buffer.writeInteger(reply.lane)
    buffer.writeInteger(reply.sequence)
    buffer.writeInteger(reply.replica)
    buffer.writeInteger(reply.view)
    writeByteString(reply.result, into: &buffer)
    write(reply.tag, into: &buffer)
  }

  private static func write(_ prepare: Prepare, into buffer: inout ByteBuffer) {
    buffer.writeInteger(prepare.view)
    buffer.writeInteger(prepare.order)
    let requests = prepare.batch.requests
    precondition(requests.count <= Int(UInt32.max), "batch too long")
    buffer.writeInteger(UInt32(requests.count))
    for request in requests { write(request, into: &buffer) }
    write(prepare.certificate, into: &buffer)
  }

  private static func write(_ commit: Commit, into buffer: inout ByteBuffer) {
    buffer.writeInteger(commit.view)
    buffer.writeInteger(commit.order)
    write(commit.batchDigest, into: &buffer)
    buffer.writeInteger(commit.replica)
    write(commit.certificate, into: &buffer)
  }

  private static func write(_ checkpoint: CheckpointMessage, into buffer: inout ByteBuffer) {
    buffer.writeInteger(checkpoint.order)
    write(checkpoint.stateDigest, into: &buffer)
    buffer.writeInteger(checkpoint.replica)
    write(checkpoint.certificate, into: &buffer)
  }

  private static func write(_ status: StatusMessage, into buffer: inout ByteBuffer) {
    buffer.writeInteger(status.replica)
    buffer.writeInteger(status.view)
    buffer.writeInteger(status.nextDelivery)
  }

  private static func write(_ viewChange: ViewChange, into buffer: inout ByteBuffer) {
    buffer.writeInteger(viewChange.replica)
    buffer.writeInteger(viewChange.fromView)
    buffer.writeInteger(viewChange.toView)
    if let checkpoint = viewChange.checkpoint {
      buffer.writeInteger(CheckpointPresenceByte.present.rawValue)
      buffer.writeInteger(checkpoint.order)
      write(checkpoint.stateDigest, into: &buffer)
      precondition(checkpoint.proof.count <= Int(UInt16.max), "checkpoint proof too long")
      buffer.writeInteger(UInt16(checkpoint.proof.count))
      for message in checkpoint.proof { write(message, into: &buffer) }
    } else {
      buffer.writeInteger(CheckpointPresenceByte.absent.rawValue)
    }
    write(viewChange.prepares, into: &buffer)
    write(viewChange.certificate, into: &buffer)
  }

  private static func write(_ newView: NewView, into buffer: inout ByteBuffer) {
    buffer.writeInteger(newView.view)
    precondition(newView.viewChanges.count <= Int(UInt16.max), "too many VIEW-CHANGEs")
    buffer.writeInteger(UInt16(newView.viewChanges.count))
    for viewChange in newView.viewChanges { write(viewChange, into: &buffer) }
    precondition(newView.acknowledgments.count <= Int(UInt16.max), "too many NEW-VIEW-ACKs")
    buffer.writeInteger(UInt16(newView.acknowledgments.count))
    for acknowledgment in newView.acknowledgments { write(acknowledgment, into: &buffer) }
    write(newView.prepares, into: &buffer)
  }

  private static func write(_ acknowledgment: NewViewAck, into buffer: inout ByteBuffer) {
    buffer.writeInteger(acknowledgment.replica)
    buffer.writeInteger(acknowledgment.view)
    write(acknowledgment.prepares, into: &buffer)
    write(acknowledgment.certificate, into: &buffer)
  }

  /// A `Prepare[u32]`: the count, then each PREPARE as in a PREPARE frame.
  private static func write(_ prepares: [Prepare], into buffer: inout ByteBuffer) {
    precondition(prepares.count <= Int(UInt32.max), "too many PREPAREs")
    buffer.writeInteger(UInt32(prepares.count))
    for prepare in prepares { write(prepare, into: &buffer) }
  }

  private static func write(_ certificate: Certificate, into buffer: inout ByteBuffer) {
    buffer.writeInteger(certificate.issuer)
    buffer.writeInteger(certificate.counter)
    buffer.writeInteger(certificate.kind.rawValue)
    buffer.writeInteger(certificate.newValue.high)
    buffer.writeInteger(certificate.newValue.low)
    if let previous = certificate.previousValue {
      buffer.writeInteger(previous.high)
      buffer.writeInteger(previous.low)
    }
    write(certificate.mac, into: &buffer)
  }

  private static func writeByteString(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
    precondition(bytes.count <= Int(UInt32.max), "byte string too long")
    buffer.writeInteger(UInt32(bytes.count))
    buffer.writeBytes(bytes)
  }

  private static func write(_ digest: Digest, into buffer: inout ByteBuffer) {
    _ = digest.withUnsafeBytes { buffer.writeBytes($0) }
  }

  private static func write(_ tag: TrInXMAC, into buffer: inout ByteBuffer) {
    _ = tag.withUnsafeBytes { buffer.writeBytes($0) }
  }
}

/// The role byte of a ``Hello``.
enum HelloRoleByte: UInt8 {
  case replica = 1
  case client = 2
}

/// The byte before a VIEW-CHANGE's checkpoint: whether one follows.
enum CheckpointPresenceByte: UInt8 {
  case absent = 0
  case present = 1
}
