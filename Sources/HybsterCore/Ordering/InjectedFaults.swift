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
}

extension OrderingPillar {
  /// The number of matching votes that forms a quorum certificate: f+1, unless
  /// ``InjectedFaults/commitQuorumOfF`` is injected.
  var voteQuorum: Int {
    injectedFaults.contains(.commitQuorumOfF) ? configuration.faultsTolerated : configuration.quorum
  }
}
