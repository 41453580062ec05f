/// One request to a TrInX instance, as it would cross an enclave or process boundary
/// (§5.1, §6.1).
///
/// This enum and ``TrInXResult`` are the whole interface of the trusted subsystem:
/// plain values only, messages as byte arrays, no closures and no references to
/// untrusted memory. An SGX enclave (the paper's implementation, §6) or a separate
/// signing process would receive a batch of commands, run them in order against its
/// counters and key, and return one result per command. ``TrInXInstance/execute(_:)-(TrInXCommand)``
/// and ``MultiTrInX/execute(instance:commands:)`` are the in-process implementations
/// of that boundary. Batching amortises the cost of entering the trusted environment
/// over several certifications.
public enum TrInXCommand: Hashable, Sendable {
  /// ``TrInXInstance/certifyIndependent(counter:newValue:message:)``.
  case certifyIndependent(counter: TrInXCounterID, newValue: CounterValue, message: [UInt8])
  /// ``TrInXInstance/certifyContinuing(counter:newValue:message:)``.
  case certifyContinuing(counter: TrInXCounterID, newValue: CounterValue, message: [UInt8])
  /// ``TrInXInstance/trustedMAC(counter:message:)``.
  case trustedMAC(counter: TrInXCounterID, message: [UInt8])
  /// ``TrInXInstance/certifyMultiIndependent(_:message:)``.
  case certifyMultiIndependent(updates: [CounterUpdate], message: [UInt8])
  /// ``TrInXInstance/certifyMultiContinuing(_:message:)``.
  case certifyMultiContinuing(updates: [CounterUpdate], message: [UInt8])
  /// ``TrInXInstance/verify(_:message:)-(Certificate,_)``.
  case verify(Certificate, message: [UInt8])
  /// ``TrInXInstance/verify(_:message:)-(MultiCounterCertificate,_)``.
  case verifyMulti(MultiCounterCertificate, message: [UInt8])
}

/// The answer to one ``TrInXCommand`` (§5.1). Plain values only.
public enum TrInXResult: Hashable, Sendable {
  /// A single-counter certificate (independent, continuing, or trusted MAC).
  case certificate(Certificate)
  /// A multi-counter certificate.
  case multiCertificate(MultiCounterCertificate)
  /// The outcome of a verification.
  case verified(Bool)
  /// The command was refused and changed nothing.
  case refused(TrInXError)
}

extension TrInXInstance {
  /// Runs `commands` in order and returns one result per command (§5.1, §6.1).
  ///
  /// This is the batched boundary a hardware-backed (SGX) or separate-process TrInX
  /// would implement: commands and results are plain values, nothing else crosses.
  /// Each command is independent: a refused command yields ``TrInXResult/refused(_:)``,
  /// changes nothing, and does not stop the commands after it. The results are
  /// exactly those of the corresponding individual calls made in the same order.
  public mutating func execute(_ commands: [TrInXCommand]) -> [TrInXResult] {
    var results: [TrInXResult] = []
    results.reserveCapacity(commands.count)
    for command in commands { results.append(execute(command)) }
    return results
  }

  /// Runs one command; see ``execute(_:)-([TrInXCommand])``.
  public mutating func execute(_ command: TrInXCommand) -> TrInXResult {
    do throws(TrInXError) {
      switch command {
      case .certifyIndependent(let counter, let newValue, let message):
        return .certificate(
          try certifyIndependent(counter: counter, newValue: newValue, message: message))
      case .certifyContinuing(let counter, let newValue, let message):
        return .certificate(
          try certifyContinuing(counter: counter, newValue: newValue, message: message))
      case .trustedMAC(let counter, let message):
        return .certificate(try trustedMAC(counter: counter, message: message))
      case .certifyMultiIndependent(let updates, let message):
        return .multiCertificate(try certifyMultiIndependent(updates, message: message))
      case .certifyMultiContinuing(let updates, let message):
        return .multiCertificate(try certifyMultiContinuing(updates, message: message))
      case .verify(let certificate, let message):
        return .verified(verify(certificate, message: message))
      case .verifyMulti(let certificate, let message):
        return .verified(verify(certificate, message: message))
      }
    } catch {
      return .refused(error)
    }
  }
}
