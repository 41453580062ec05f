import HybsterCore
import HybsterServices

/// When and how often a seed's Byzantine client acts (drawn from the seed).
public struct ByzantineClientPlan: Sendable, Hashable, CustomStringConvertible {
  /// The number of moves it makes, all in the safety phase.
  public var moves: Int
  /// The longest pause between two moves.
  public var interval: SimTime

  /// Draws a plan whose moves spread over a safety phase of `safety`.
  static func draw(_ random: inout SimulationRandom, safety: SimTime) -> Self {
    let moves = random.int(8...40)
    return Self(moves: moves, interval: max(2_000, 2 * safety / SimTime(moves)))
  }

  public var description: String {
    "\(moves) moves, one every <= \(interval / 1000) ms"
  }
}

/// An admitted client with a valid key that attacks (issue 13, item 3; DESIGN.md:
/// "Any client, including one with a valid key, may send ... partially
/// authenticated ... or replayed requests"). Each move is one of:
/// - ``Attack/signedTogether``: valid requests on its own lanes under one signature
///   (a Merkle root), one of them sometimes altered after signing;
/// - ``Attack/partialAuthenticator``: a valid request whose MAC tags are valid for
///   some replicas only (the "MAC attack"; with signatures its signature is valid);
/// - ``Attack/foreignPayload``: a signature (or tags) made over a different payload;
///   with signatures it carries valid MACs for every replica (the trap of issue 13);
/// - ``Attack/replay``: an old request, its own or an honest client's;
/// - ``Attack/impersonate``: an honest client's id and lane with a plausible next
///   sequence number, signed or tagged with its own keys.
///
/// Correct replicas must not diverge, must execute none of the requests it did not
/// authenticate as itself, and must still complete every honest client's requests.
struct ByzantineClient: Sendable {
  /// The kinds of moves, one drawn per move.
  enum Attack: CaseIterable {
    case signedTogether, partialAuthenticator, foreignPayload, replay, impersonate
  }

  /// Its credentials in the run's mode, and in `macs` for tags in either mode.
  let credentials: ClientCredentials
  let tagging: ClientCredentials
  let replicaCount: Int
  var random: SimulationRandom
  var movesLeft: Int
  /// Each own lane's last sequence number.
  var sequences: [UInt64] = [0, 0, 0]
  /// Its recent valid requests (for replays).
  var own: [Request] = []

  init(
    credentials: ClientCredentials, tagging: ClientCredentials, replicas: Int,
    plan: ByzantineClientPlan, random: SimulationRandom
  ) {
    self.credentials = credentials
    self.tagging = tagging
    replicaCount = replicas
    movesLeft = plan.moves
    self.random = random
  }

  /// One move. `sniffed` are recent requests of honest clients. Returns the requests
  /// to send with the replicas each goes to, and those it authenticated as itself
  /// (which may execute).
  mutating func move(sniffed: [Request]) -> (
    sends: [(request: Request, to: [ReplicaID])], authentic: [Request]
  ) {
    movesLeft -= 1
    var attack = random.pick(Attack.allCases)
    if attack == .impersonate, sniffed.isEmpty { attack = .signedTogether }
    if attack == .replay, sniffed.isEmpty, own.isEmpty { attack = .signedTogether }
    var sends: [Request] = []
    var authentic: [Request] = []
    switch attack {
    case .signedTogether:
      let lanes = random.shuffled(Array(0..<sequences.count)).prefix(random.int(1...3))
      var requests = credentials.requests(lanes.map { (UInt32($0), nextSequence($0), operation()) })
      authentic = requests
      if requests.count > 1, random.chance(0.5) {
        let altered = random.int(0...(requests.count - 1))
        requests[altered].operation = operation(other: requests[altered].operation)
        authentic.remove(at: altered)
      }
      sends = requests
    case .partialAuthenticator:
      let lane = random.int(0...(sequences.count - 1))
      let (sequence, operation) = (nextSequence(lane), operation())
      var request = credentials.request(
        lane: UInt32(lane), sequence: sequence, operation: operation)
      let tags = tagging.request(lane: UInt32(lane), sequence: sequence, operation: operation)
        .authenticator
      let valid = Set(
        random.shuffled(Array(0..<replicaCount)).prefix(random.int(1...replicaCount - 1)))
      request.authenticator = tags.indices.map { valid.contains($0) ? tags[$0] : garbageTag() }
      authentic = [request]
      sends = [request]
    case .foreignPayload:
      let lane = random.int(0...(sequences.count - 1))
      let sequence = nextSequence(lane)
      let signed = credentials.request(
        lane: UInt32(lane), sequence: sequence, operation: operation())
      var forged = tagging.request(
        lane: UInt32(lane), sequence: sequence, operation: operation(other: signed.operation))
      if credentials.mode == .signatures {
        forged.signature = signed.signature  // valid MACs, a signature over another payload
      } else {
        forged.authenticator = signed.authenticator
      }
      sends = [forged]
    case .replay:
      sends = [random.pick(own + sniffed)]
    case .impersonate:
      let victim = random.pick(sniffed)
      var forged = credentials.request(
        lane: victim.lane, sequence: victim.sequence + random.uint(1...2), operation: operation())
      forged.client = victim.client
      sends = [forged]
    }
    own += authentic
    if own.count > 16 { own.removeFirst(own.count - 16) }
    return (sends.map { ($0, targets()) }, authentic)
  }

  private mutating func nextSequence(_ lane: Int) -> UInt64 {
    sequences[lane] += 1
    return sequences[lane]
  }

  /// A key-value operation on the honest clients' keys, other than `other`.
  private mutating func operation(other: [UInt8]) -> [UInt8] {
    var operation = operation()
    while operation == other { operation = self.operation() }
    return operation
  }

  /// A key-value operation on the honest clients' keys.
  private mutating func operation() -> [UInt8] {
    let key: [UInt8] = [UInt8(random.int(0...3))]
    let value: [UInt8] = [0xB0 | UInt8(random.int(0...3))]
    switch random.int(0...2) {
    case 0: return KeyValueOperation.put(key: key, value: value).encode()
    case 1: return KeyValueOperation.delete(key: key).encode()
    default: return KeyValueOperation.compareAndSwap(key: key, expected: nil, new: value).encode()
    }
  }

  /// A non-empty set of replicas, ascending.
  private mutating func targets() -> [ReplicaID] {
    let all = (0..<replicaCount).map { ReplicaID($0) }
    return random.shuffled(all).prefix(random.int(1...replicaCount)).sorted()
  }

  private mutating func garbageTag() -> AuthenticationTag {
    // Force-unwrap: 32 bytes.
    AuthenticationTag(bytes: random.bytes(AuthenticationTag.byteCount))!
  }
}

extension SimulationRun {
  /// The Byzantine client's next move, during the safety phase: what it
  /// authenticated as itself may execute; the rest must not.
  func byzantineClientMove() {
    guard !healed, var client = byzantineClient, client.movesLeft > 0 else { return }
    let (sends, authentic) = client.move(sniffed: recentRequests)
    for request in authentic { sentPayloads.insert(request.payloadDigest) }
    for (request, targets) in sends {
      for r in targets { sendRequest(request, to: r) }
    }
    let next = now + 1 + client.random.uint(0...p.byzantineClient!.interval)
    byzantineClient = client
    if client.movesLeft > 0 { queue.schedule(.byzantineClient, at: next) }
  }
}
