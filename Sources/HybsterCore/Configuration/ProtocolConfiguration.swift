import TrInX

/// The protocol parameters every replica of a group must agree on (§5.2).
///
/// n = 2f+1 replicas tolerate f faults with quorums of q = f+1 (§5.2: 2q > n and
/// n ≥ q + f).
public struct ProtocolConfiguration: Hashable, Sendable, Codable {
  /// The number of replicas, n ≥ 3 and odd.
  public var replicaCount: Int
  /// A checkpoint is taken every `checkpointInterval` order numbers, K (§5.2.2).
  public var checkpointInterval: UInt64
  /// The ordering window: a replica takes part only in instances o with
  /// low < o ≤ low + windowSize, where low is its last stable checkpoint (§5.2.2).
  public var windowSize: UInt64
  /// The most requests one consensus instance orders (1 = batching off).
  public var maxBatchSize: Int
  /// The most instances a leader keeps proposed but not yet committed before it
  /// waits and lets requests accumulate into larger batches.
  public var maxInFlight: Int
  /// The largest request operation, in bytes.
  public var maxOperationSize: Int
  /// The most bytes one batch takes on the wire (``Request/byteCount`` summed): a
  /// leader closes a batch before it grows past them, and a PREPARE whose batch is
  /// larger is refused, so that every PREPARE fits a frame (issue 11). At least
  /// one request of the largest operation fits.
  public var maxBatchBytes: Int
  /// The most bytes of batches (``Request/byteCount`` summed) that one view's
  /// PREPAREs may hold in a pillar's window, spread evenly over its checkpoint
  /// intervals (``intervalByteBudget``). A leader fills an interval whose budget is
  /// spent with empty batches, and a follower does not COMMIT a PREPARE beyond it,
  /// so that a VIEW-CHANGE, which carries the window, and a NEW-VIEW, which carries
  /// a few of them, fit a frame (issue 11; ``maxPeerFrameBytes``).
  public var maxWindowBytes: Int
  /// Lanes a client may use: 0 ..< `maxLanesPerClient`. Every lane keeps one reply
  /// cached for good (exactly-once), so a client must not pick lanes without bound.
  public var maxLanesPerClient: Int
  /// The number of pillars per replica, P (§5.3): order number o belongs to pillar
  /// (o − 1) mod P. 1 is the sequential HybsterS.
  public var pillarCount: Int
  /// The TrInX instance id of every pillar of every replica, replica-major: pillar
  /// u of replica r is at index r·P + u (§5.3.1: part of the group configuration).
  public var trinxInstances: [TrInXInstanceID]
  /// Rotating leaders (§6.2, Figures 5b/5c) at pillar granularity: in a *rotating
  /// view* (v a multiple of n, view 0 among them) pillar u is led by replica
  /// (v + u) mod n instead of v mod n, so with P ≥ n every replica proposes and the
  /// proposer of global order number o is (o − 1) mod P mod n. Every other view has
  /// the fixed leader v mod n: a view in which one of the rotating leaders fails is
  /// left for one with a single leader, so a faulty replica cannot stall the group
  /// by leading a pillar in every view.
  public var rotateLeaders: Bool
  /// Ticks without progress (while work is outstanding) before a replica suspects
  /// the leader; doubled for every view change that fails in a row (§5.2.3).
  public var viewChangeTimeoutTicks: UInt64
  /// How client requests are authenticated (issue 13): every replica must agree,
  /// since with signatures it decides which requests execute.
  public var clientAuthentication: ClientAuthMode

  /// Creates a configuration; call ``validate()`` before use.
  public init(
    replicaCount: Int, checkpointInterval: UInt64 = 128, windowSize: UInt64 = 512,
    maxBatchSize: Int = 64, maxInFlight: Int = 4, maxOperationSize: Int = 1 << 20,
    maxBatchBytes: Int = 4 << 20, maxWindowBytes: Int = 16 << 20, maxLanesPerClient: Int = 1024,
    pillarCount: Int = 1,
    rotateLeaders: Bool = false,
    trinxInstances: [TrInXInstanceID]? = nil,
    viewChangeTimeoutTicks: UInt64 = 20, clientAuthentication: ClientAuthMode = .signatures
  ) {
    self.clientAuthentication = clientAuthentication
    self.pillarCount = pillarCount
    self.rotateLeaders = rotateLeaders
    self.viewChangeTimeoutTicks = viewChangeTimeoutTicks
    self.replicaCount = replicaCount
    self.checkpointInterval = checkpointInterval
    self.windowSize = windowSize
    self.maxBatchSize = maxBatchSize
    self.maxInFlight = maxInFlight
    self.maxOperationSize = maxOperationSize
    self.maxBatchBytes = maxBatchBytes
    self.maxWindowBytes = maxWindowBytes
    self.maxLanesPerClient = maxLanesPerClient
    self.trinxInstances =
      trinxInstances ?? (0..<replicaCount * pillarCount).map { TrInXInstanceID($0) }
  }

  /// The TrInX instance of pillar `pillar` of `replica` (§5.3.1).
  @inlinable
  public func trinxInstance(of replica: ReplicaID, pillar: Int) -> TrInXInstanceID {
    trinxInstances[Int(replica) * pillarCount + pillar]
  }

  /// How order numbers map onto pillars.
  public var layout: PillarLayout { PillarLayout(pillarCount: pillarCount) }

  /// The number of faults tolerated, f = ⌊(n−1)/2⌋.
  public var faultsTolerated: Int { (replicaCount - 1) / 2 }

  /// The quorum size, q = ⌈(n+1)/2⌉ = f+1 for n = 2f+1.
  public var quorum: Int { replicaCount / 2 + 1 }

  /// The leader of `view`: replica `v mod n` (§5.2.1). With ``rotateLeaders``, the
  /// leader of pillar 0 (see ``leader(of:pillar:)``); it builds the NEW-VIEW parts of
  /// the pillars it leads, and the view change is the same for all.
  public func leader(of view: View) -> ReplicaID {
    ReplicaID(view % UInt64(replicaCount))
  }

  /// Whether the pillars of `view` have different leaders (a rotating view with
  /// several pillars): then even a leader installs the view only once every
  /// leader's NEW-VIEW part is there (§5.3.3).
  public func hasSeveralLeaders(_ view: View) -> Bool {
    pillarCount > 1 && isRotating(view)
  }

  /// Whether leaders rotate over the pillars in `view` (see ``rotateLeaders``).
  @inlinable
  public func isRotating(_ view: View) -> Bool {
    rotateLeaders && view % UInt64(replicaCount) == 0
  }

  /// The leader of pillar `pillar` in `view`: v mod n, or (v + u) mod n in a
  /// rotating view (see ``rotateLeaders``).
  @inlinable
  public func leader(of view: View, pillar: Int) -> ReplicaID {
    ReplicaID((view + (isRotating(view) ? UInt64(pillar) : 0)) % UInt64(replicaCount))
  }

  /// All replica ids.
  public var replicas: Range<ReplicaID> { 0..<ReplicaID(replicaCount) }

  /// The largest batch byte budget: a PREPARE of such a batch, with its header and
  /// certificate, stays below the 16 MiB frame limit of the wire format.
  public static let maxBatchBytesLimit = 15 << 20
  /// The largest window byte budget (a NEW-VIEW of 2n+1 windows stays below 4 GiB).
  public static let maxWindowBytesLimit = 64 << 20
  /// The largest window (instances; every slot of it may be held in memory).
  public static let maxWindowSize: UInt64 = 1 << 24
  /// The largest view-change timeout in ticks (it doubles up to 16 times itself).
  public static let maxViewChangeTimeoutTicks: UInt64 = 1 << 32

  /// Checks every parameter.
  public func validate() throws(ConfigurationError) {
    guard replicaCount >= 3 else { throw .tooFewReplicas(replicaCount) }
    guard replicaCount % 2 == 1 else { throw .evenReplicaCount(replicaCount) }
    guard replicaCount <= 255 else { throw .tooManyReplicas(replicaCount) }
    guard checkpointInterval >= 1, checkpointInterval <= Self.maxWindowSize / 2 else {
      throw .invalidCheckpointInterval(checkpointInterval)
    }
    guard windowSize >= 2 * checkpointInterval, windowSize % checkpointInterval == 0,
      windowSize <= Self.maxWindowSize
    else {
      throw .invalidWindow(windowSize: windowSize, checkpointInterval: checkpointInterval)
    }
    guard maxBatchSize >= 1, maxBatchSize <= 65_536 else { throw .invalidBatchSize(maxBatchSize) }
    guard maxInFlight >= 1, UInt64(maxInFlight) <= windowSize else {
      throw .invalidInFlight(maxInFlight)
    }
    guard maxOperationSize >= 0, maxOperationSize <= Self.maxBatchBytesLimit / 2 else {
      throw .invalidOperationSize(maxOperationSize)
    }
    guard maxBatchBytes >= Request.byteCount(operation: maxOperationSize, replicas: replicaCount),
      maxBatchBytes <= Self.maxBatchBytesLimit
    else { throw .invalidBatchBytes(maxBatchBytes, maxOperationSize: maxOperationSize) }
    guard maxLanesPerClient >= 1, maxLanesPerClient <= 1 << 16 else {
      throw .invalidLaneCount(maxLanesPerClient)
    }
    guard pillarCount >= 1, pillarCount <= 64 else { throw .invalidPillarCount(pillarCount) }
    guard checkpointInterval % UInt64(pillarCount) == 0 else {
      throw .checkpointIntervalNotMultipleOfPillars(
        checkpointInterval: checkpointInterval, pillars: pillarCount)
    }
    guard UInt64(maxInFlight) <= windowSize / UInt64(pillarCount) else {
      throw .invalidInFlight(maxInFlight)
    }
    guard trinxInstances.count == replicaCount * pillarCount else {
      throw .trinxInstanceCount(
        expected: replicaCount * pillarCount, got: trinxInstances.count)
    }
    guard Set(trinxInstances).count == trinxInstances.count else {
      throw .duplicateTrInXInstance
    }
    guard viewChangeTimeoutTicks >= 2, viewChangeTimeoutTicks <= Self.maxViewChangeTimeoutTicks
    else {
      throw .invalidViewChangeTimeout(viewChangeTimeoutTicks)
    }
    guard maxWindowBytes >= 0, maxWindowBytes <= Self.maxWindowBytesLimit,
      intervalByteBudget >= Request.byteCount(operation: maxOperationSize, replicas: replicaCount),
      maxPeerFrameBytes <= Int(UInt32.max)
    else {
      throw .invalidWindowBytes(
        maxWindowBytes, intervals: windowSize / checkpointInterval,
        maxOperationSize: maxOperationSize)
    }
  }
}

extension ProtocolConfiguration {
  private enum CodingKeys: String, CodingKey {
    case replicaCount, checkpointInterval, windowSize, maxBatchSize, maxInFlight
    case maxOperationSize, maxBatchBytes, maxWindowBytes, maxLanesPerClient, pillarCount
    case rotateLeaders
    case trinxInstances
    case viewChangeTimeoutTicks
    case clientAuthentication
  }

  /// Decodes a configuration; files written before pillars existed mean one pillar
  /// and a fixed leader, and before batch and window byte budgets the default ones.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      replicaCount: try c.decode(Int.self, forKey: .replicaCount),
      checkpointInterval: try c.decode(UInt64.self, forKey: .checkpointInterval),
      windowSize: try c.decode(UInt64.self, forKey: .windowSize),
      maxBatchSize: try c.decode(Int.self, forKey: .maxBatchSize),
      maxInFlight: try c.decode(Int.self, forKey: .maxInFlight),
      maxOperationSize: try c.decode(Int.self, forKey: .maxOperationSize),
      maxBatchBytes: try c.decodeIfPresent(Int.self, forKey: .maxBatchBytes) ?? 4 << 20,
      maxWindowBytes: try c.decodeIfPresent(Int.self, forKey: .maxWindowBytes) ?? 16 << 20,
      maxLanesPerClient: try c.decodeIfPresent(Int.self, forKey: .maxLanesPerClient) ?? 1024,
      pillarCount: try c.decodeIfPresent(Int.self, forKey: .pillarCount) ?? 1,
      rotateLeaders: try c.decodeIfPresent(Bool.self, forKey: .rotateLeaders) ?? false,
      trinxInstances: try c.decode([TrInXInstanceID].self, forKey: .trinxInstances),
      viewChangeTimeoutTicks: try c.decode(UInt64.self, forKey: .viewChangeTimeoutTicks),
      clientAuthentication: try c.decodeIfPresent(
        ClientAuthMode.self, forKey: .clientAuthentication) ?? .signatures)
  }
}

/// What is wrong with a configuration.
public enum ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
  case tooFewReplicas(Int)
  case evenReplicaCount(Int)
  case tooManyReplicas(Int)
  case invalidCheckpointInterval(UInt64)
  case invalidWindow(windowSize: UInt64, checkpointInterval: UInt64)
  case invalidBatchSize(Int)
  case invalidInFlight(Int)
  case invalidOperationSize(Int)
  case invalidBatchBytes(Int, maxOperationSize: Int)
  case invalidWindowBytes(Int, intervals: UInt64, maxOperationSize: Int)
  case invalidLaneCount(Int)
  case trinxInstanceCount(expected: Int, got: Int)
  case duplicateTrInXInstance
  case invalidViewChangeTimeout(UInt64)
  case invalidPillarCount(Int)
  case checkpointIntervalNotMultipleOfPillars(checkpointInterval: UInt64, pillars: Int)

  public var description: String {
    switch self {
    case .tooFewReplicas(let n): "replica count \(n) is below 3 (n = 2f+1 with f ≥ 1)"
    case .evenReplicaCount(let n): "replica count \(n) is even; Hybster needs n = 2f+1"
    case .tooManyReplicas(let n): "replica count \(n) exceeds 255"
    case .invalidCheckpointInterval(let k):
      "checkpoint interval \(k) must be between 1 and \(ProtocolConfiguration.maxWindowSize / 2)"
    case .invalidWindow(let w, let k):
      "window size \(w) must be a multiple of the checkpoint interval \(k), at least twice it and at most \(ProtocolConfiguration.maxWindowSize)"
    case .invalidBatchSize(let b): "batch size \(b) must be between 1 and 65536"
    case .invalidInFlight(let m):
      "max in-flight instances \(m) must be between 1 and the window size per pillar"
    case .invalidOperationSize(let s): "max operation size \(s) must be between 0 and 7.5 MiB"
    case .invalidLaneCount(let l): "max lanes per client \(l) must be between 1 and 65536"
    case .invalidBatchBytes(let b, let op):
      "max batch bytes \(b) must hold one request of the max operation size \(op) and be at most 15 MiB"
    case .invalidWindowBytes(let b, let intervals, let op):
      "max window bytes \(b) must be at most 64 MiB, keep a NEW-VIEW below 4 GiB and, split over the window's \(intervals) checkpoint intervals, hold one request of the max operation size \(op) in each"
    case .trinxInstanceCount(let e, let g):
      "expected \(e) TrInX instance ids (one per replica and pillar), got \(g)"
    case .duplicateTrInXInstance: "TrInX instance ids must be unique"
    case .invalidViewChangeTimeout(let t): "view-change timeout of \(t) ticks must be at least 2"
    case .invalidPillarCount(let p): "pillar count \(p) must be between 1 and 64"
    case .checkpointIntervalNotMultipleOfPillars(let k, let p):
      "checkpoint interval \(k) must be a multiple of the pillar count \(p)"
    }
  }
}
