/// Deliberate protocol bugs for the deterministic simulator's self-test only; never
/// set in production.
///
/// The simulator proves that its invariant checkers can fail by injecting one of
/// these into *correct* replicas and showing that a bounded seed sweep reports a
/// violation. Each fault weakens exactly one check of §5.2.
public struct InjectedFaults: OptionSet, Hashable, Sendable {
  public let rawValue: UInt8

  public init(rawValue: UInt8) {
    self.rawValue = rawValue
  }

  /// Accept f matching votes instead of f+1 wherever a quorum certificate is
  /// formed: committing an instance (§5.2.1) and making a checkpoint stable (§5.2.2).
  public static let commitQuorumOfF = InjectedFaults(rawValue: 1 << 0)
  /// Followers accept a PREPARE without verifying the leader's TrInX certificate
  /// (§5.2.1), so a copied certificate lets a leader equivocate.
  public static let skipPrepareCertificateCheck = InjectedFaults(rawValue: 1 << 1)
  /// A VIEW-CHANGE may carry PREPAREs of views above its `fromView`, and new-view
  /// plans take the highest-view PREPARE whether or not f+1 replicas vouch for its
  /// view (§5.2.3; the first agreement violation of issue 10).
  public static let unvouchedPrepares = InjectedFaults(rawValue: 1 << 2)
  /// A view-change certificate's PREPAREs are learned before its checkpoint moves
  /// the window, so those above the old window are lost (§5.2.2/§5.2.3; the second
  /// agreement violation of issue 10).
  public static let learnBeforeStabilizing = InjectedFaults(rawValue: 1 << 3)
  /// A VIEW-CHANGE whose continuing certificate shows order messages up to o_act is
  /// accepted without the PREPAREs up to o_act (§5.2.3).
  public static let acceptHidingViewChange = InjectedFaults(rawValue: 1 << 4)
  /// A replica supports view v+2 without a view-change certificate for v+1 that it
  /// learned from (§5.2.3: "no correct replica ... will support any leader of a view
  /// v* > v + 1 until it has collected ... a view-change certificate for v* − 1").
  public static let moveOnWithoutCertificate = InjectedFaults(rawValue: 1 << 5)
}

extension OrderingPillar {
  /// The number of matching votes that forms a quorum certificate: f+1, unless
  /// ``InjectedFaults/commitQuorumOfF`` is injected.
  var voteQuorum: Int {
    injectedFaults.contains(.commitQuorumOfF) ? configuration.faultsTolerated : configuration.quorum
  }
}
