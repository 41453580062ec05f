import HybsterCore

/// Everything that travels over a Hybster connection (§5.2): the handshake, the
/// replica-to-replica protocol messages, and the client's requests and replies.
///
/// Each case has exactly one ``WireMessageType`` byte; see `docs/wire-format.md`.
public enum WireMessage: Hashable, Sendable {
  /// The first frame on every connection, from the connecting side.
  case hello(Hello)
  /// The accepting side's answer to a hello (issue 11, authenticated connections).
  case challenge(HandshakeChallenge)
  /// The connecting side's proof of the identity its hello claimed.
  case proof(HandshakeProof)
  /// A message between replicas (§5.2.1, §5.2.2, §5.2.3).
  case protocolMessage(ProtocolMessage)
  /// A client's REQUEST to a replica (§5.2.1).
  case request(Request)
  /// A replica's REPLY to a client (§5.2.1).
  case reply(Reply)
  /// A replica's refusal of a client's handshake, frame or request (issue 13).
  case refused(Refusal)
  /// A replica asks another for a stable checkpoint's state (§5.2.2).
  case stateRequest(StateRequest)
  /// One piece of a checkpoint's state, answering a ``StateRequest`` (§5.2.2).
  case stateChunk(StateChunk)

  /// The type byte this message is framed with.
  public var type: WireMessageType {
    switch self {
    case .hello: .hello
    case .challenge: .challenge
    case .proof: .proof
    case .request: .request
    case .reply: .reply
    case .refused: .refused
    case .stateRequest: .stateRequest
    case .stateChunk: .stateChunk
    case .protocolMessage(let message):
      switch message {
      case .prepare: .prepare
      case .commit: .commit
      case .checkpoint: .checkpoint
      case .forwardedRequest: .forwardedRequest
      case .status: .status
      case .viewChange: .viewChange
      case .newView: .newView
      case .newViewAck: .newViewAck
      }
    }
  }
}

/// The type byte of a frame, one per message. Values are never reused: a new
/// message gets a new byte, and an unknown byte is rejected with
/// ``WireError/unknownMessageType(_:)``.
public enum WireMessageType: UInt8, Hashable, Sendable, CaseIterable {
  /// ``Hello``.
  case hello = 0x01
  /// ``HybsterCore/Request`` from a client.
  case request = 0x02
  /// ``HybsterCore/Reply`` to a client.
  case reply = 0x03
  /// ``HandshakeChallenge``.
  case challenge = 0x04
  /// ``HandshakeProof``.
  case proof = 0x05
  /// ``Refusal``.
  case refused = 0x06
  /// PREPARE (§5.2.1).
  case prepare = 0x10
  /// COMMIT (§5.2.1).
  case commit = 0x11
  /// CHECKPOINT (§5.2.2).
  case checkpoint = 0x12
  /// A client request a replica forwards to the leader (§5.2.1).
  case forwardedRequest = 0x13
  /// STATUS, which triggers retransmission (§5.2.2).
  case status = 0x14
  /// VIEW-CHANGE (§5.2.3).
  case viewChange = 0x15
  /// NEW-VIEW (§5.2.3).
  case newView = 0x16
  /// NEW-VIEW-ACK (§5.2.3).
  case newViewAck = 0x17
  /// STATE-REQUEST (§5.2.2, state transfer).
  case stateRequest = 0x20
  /// STATE-CHUNK (§5.2.2, state transfer).
  case stateChunk = 0x21
}

/// The handshake frame: who is at this end of the connection and the highest wire
/// version it speaks.
///
/// A hello is a claim; the ``HandshakeChallenge`` and ``HandshakeProof`` that follow
/// prove it, before the connection carries anything else. Every protocol message
/// still carries its own TrInX certificate (§5.1) and every request and reply its
/// own HMAC tag (§5.2.1).
public struct Hello: Hashable, Sendable {
  /// The kind and identity of a connection's endpoint.
  public enum Role: Hashable, Sendable {
    /// A replica, by its index in the configuration.
    case replica(ReplicaID)
    /// A client principal.
    case client(ClientID)
  }

  /// Who sent the hello.
  public var role: Role
  /// The highest wire version the sender speaks.
  public var protocolVersion: UInt8

  /// Creates a hello; the version defaults to the one this implementation speaks.
  public init(role: Role, protocolVersion: UInt8 = WireCodec.protocolVersion) {
    self.role = role
    self.protocolVersion = protocolVersion
  }
}
