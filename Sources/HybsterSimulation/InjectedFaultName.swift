import HybsterCore

/// The injected faults by name (for the CLI and reports).
public enum InjectedFaultName {
  /// Every injectable fault with its name.
  public static let all: [(name: String, fault: InjectedFaults)] = [
    ("commitQuorumOfF", .commitQuorumOfF),
    ("skipPrepareCertificateCheck", .skipPrepareCertificateCheck),
    ("unvouchedPrepares", .unvouchedPrepares),
    ("learnBeforeStabilizing", .learnBeforeStabilizing),
    ("acceptHidingViewChange", .acceptHidingViewChange),
    ("moveOnWithoutCertificate", .moveOnWithoutCertificate),
  ]

  /// The fault called `name`.
  public static func fault(named name: String) -> InjectedFaults? {
    all.first { $0.name == name }?.fault
  }

  /// The names of the faults in `faults`.
  public static func names(of faults: InjectedFaults) -> [String] {
    all.filter { faults.contains($0.fault) }.map(\.name)
  }
}
