/// How the order numbers of a replica group are partitioned among its P pillars
/// (§5.3.1, "predefined consensus assignment").
///
/// Global order number o belongs to pillar (o − 1) mod P, as in Figure 4 (49, 50
/// and 51 go to U₀, U₁ and U₂ of three pillars). Inside a pillar, the instances it
/// owns are numbered 1, 2, 3, … ("local" order numbers): local l of pillar u is
/// global (l − 1)·P + u + 1. A pillar is therefore the sequential protocol on its
/// own dense sequence, certified by its own TrInX instance, whose id binds the
/// certificate to the pillar (and so to the global order number).
///
/// The checkpoint interval K is a multiple of P, so global checkpoint c·K is local
/// c·K/P in every pillar at once; checkpoint number c is run by pillar c mod P
/// (§5.3.2).
public struct PillarLayout: Hashable, Sendable {
  /// P.
  public let pillarCount: Int

  /// A layout of `pillarCount` pillars.
  @inlinable
  public init(pillarCount: Int) {
    precondition(pillarCount >= 1, "at least one pillar")
    self.pillarCount = pillarCount
  }

  /// The pillar that owns global order number `order` (≥ 1).
  @inlinable
  public func pillar(ofGlobal order: OrderNumber) -> Int {
    Int((order - 1) % UInt64(pillarCount))
  }

  /// The local order number of global `order` inside its pillar.
  @inlinable
  public func local(ofGlobal order: OrderNumber) -> OrderNumber {
    (order - 1) / UInt64(pillarCount) + 1
  }

  /// The global order number of local `order` (≥ 1) of `pillar`.
  @inlinable
  public func global(local order: OrderNumber, pillar: Int) -> OrderNumber {
    (order - 1) * UInt64(pillarCount) + UInt64(pillar) + 1
  }

  /// The local checkpoint order number of global checkpoint `order` (a multiple of
  /// K, hence of P), the same in every pillar; 0 stays 0.
  @inlinable
  public func localCheckpoint(ofGlobal order: OrderNumber) -> OrderNumber {
    order / UInt64(pillarCount)
  }

  /// The global order number of local checkpoint `order`.
  @inlinable
  public func globalCheckpoint(ofLocal order: OrderNumber) -> OrderNumber {
    order * UInt64(pillarCount)
  }

  /// The pillar that runs the checkpoint protocol for the checkpoint at global
  /// `order` = c·K: pillar c mod P (§5.3.2, round robin).
  @inlinable
  public func checkpointPillar(ofGlobal order: OrderNumber, interval: UInt64) -> Int {
    Int((order / interval) % UInt64(pillarCount))
  }

  /// The same for local checkpoint `order` (`interval` is still the global K).
  @inlinable
  public func checkpointPillar(ofLocal order: OrderNumber, interval: UInt64) -> Int {
    checkpointPillar(ofGlobal: globalCheckpoint(ofLocal: order), interval: interval)
  }

  /// How far pillar `sibling` must have proposed once pillar `pillar` proposed local
  /// `order`: every global order number below that one (§5.3.1, gaps "are closed by
  /// proposing empty consensus instances").
  @inlinable
  public func fillTarget(afterLocal order: OrderNumber, of pillar: Int, for sibling: Int)
    -> OrderNumber
  {
    sibling < pillar ? order : order - 1
  }

  /// The pillar that orders a client's requests: a fixed function of the client and
  /// lane, the same at every replica, so a follower watches for a request in the
  /// pillar that its leader uses.
  @inlinable
  public func pillar(ofClient client: ClientID, lane: UInt32) -> Int {
    guard pillarCount > 1 else { return 0 }
    var x = UInt64(client) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(lane) &* 0xC2B2_AE3D_27D4_EB4F
    x ^= x >> 31
    return Int(x % UInt64(pillarCount))
  }
}
