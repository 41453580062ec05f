import Foundation
import Synchronization

/// Several TrInX instances hosted in one trusted environment behind one lock: the
/// paper's *Multi-TrInX* variant (§6.1).
///
/// In the paper each TrInX instance normally runs in its own SGX enclave, dedicated to
/// one thread (here: one ``TrInXInstance`` owned by one pillar). Multi-TrInX instead
/// hosts the instances of all pillars in a single enclave entered by all threads. The
/// instances stay independent (own id, own counters, same group key); only the entry
/// is shared, which is what made it fall behind at four cores in Figure 5a. It is
/// offered for deployments that want one trusted component per replica; the default
/// for pillars is one ``TrInXInstance`` each.
///
/// All access goes through ``execute(instance:commands:)``, the same plain-value
/// boundary as ``TrInXInstance/execute(_:)-([TrInXCommand])``; the certify methods are
/// conveniences over it. A batch runs atomically with respect to other callers.
public final class MultiTrInX: Sendable {
  private let state: Mutex<[TrInXInstance]>
  private let slots: [TrInXInstanceID: Int]
  /// Verification only needs the group key, never a counter, so it takes no lock.
  private let verifier: TrInXInstance

  /// The ids of the hosted instances, in the order they were given.
  public let instanceIDs: [TrInXInstanceID]

  /// Creates one instance per id, each with `counterCount` counters at
  /// ``CounterValue/zero`` and the group `key`, as a trusted administrator would (§5.1).
  /// - Throws: ``TrInXError/invalidKeyLength(_:)`` unless `key` has 32 bytes.
  /// - Precondition: `ids` is non-empty and has no duplicates.
  public init(ids: [TrInXInstanceID], counterCount: Int, key: [UInt8]) throws(TrInXError) {
    precondition(!ids.isEmpty, "a Multi-TrInX hosts at least one instance")
    var instances: [TrInXInstance] = []
    var slots: [TrInXInstanceID: Int] = [:]
    for id in ids {
      precondition(slots[id] == nil, "instance id \(id) given twice")
      slots[id] = instances.count
      instances.append(try TrInXInstance(id: id, counterCount: counterCount, key: key))
    }
    self.verifier = instances[0]
    self.slots = slots
    self.instanceIDs = ids
    self.state = Mutex(instances)
  }

  /// Runs `commands` in order on the hosted instance `instance`, under the lock, and
  /// returns one result per command (see ``TrInXInstance/execute(_:)-([TrInXCommand])``).
  /// - Throws: ``TrInXError/unknownInstance(_:)`` if no such instance is hosted.
  public func execute(instance: TrInXInstanceID, commands: [TrInXCommand]) throws(TrInXError)
    -> [TrInXResult]
  {
    let slot = try slot(of: instance)
    return state.withLock { $0[slot].execute(commands) }
  }

  /// The current value of `counter` of `instance`.
  public func value(instance: TrInXInstanceID, counter: TrInXCounterID) throws(TrInXError)
    -> CounterValue
  {
    let slot = try slot(of: instance)
    return try state.withLock { (instances) throws(TrInXError) in
      try instances[slot].value(of: counter)
    }
  }

  /// ``TrInXInstance/certifyIndependent(counter:newValue:message:)`` on `instance`.
  public func certifyIndependent(
    instance: TrInXInstanceID, counter: TrInXCounterID, newValue: CounterValue,
    message: some ContiguousBytes
  ) throws(TrInXError) -> Certificate {
    let slot = try slot(of: instance)
    return try state.withLock { (instances) throws(TrInXError) in
      try instances[slot].certifyIndependent(counter: counter, newValue: newValue, message: message)
    }
  }

  /// ``TrInXInstance/certifyContinuing(counter:newValue:message:)`` on `instance`.
  public func certifyContinuing(
    instance: TrInXInstanceID, counter: TrInXCounterID, newValue: CounterValue,
    message: some ContiguousBytes
  ) throws(TrInXError) -> Certificate {
    let slot = try slot(of: instance)
    return try state.withLock { (instances) throws(TrInXError) in
      try instances[slot].certifyContinuing(counter: counter, newValue: newValue, message: message)
    }
  }

  /// ``TrInXInstance/trustedMAC(counter:message:)`` on `instance`.
  public func trustedMAC(
    instance: TrInXInstanceID, counter: TrInXCounterID, message: some ContiguousBytes
  ) throws(TrInXError) -> Certificate {
    let slot = try slot(of: instance)
    return try state.withLock { (instances) throws(TrInXError) in
      try instances[slot].trustedMAC(counter: counter, message: message)
    }
  }

  /// ``TrInXInstance/certifyMultiIndependent(_:message:)`` on `instance`.
  public func certifyMultiIndependent(
    instance: TrInXInstanceID, _ updates: [CounterUpdate], message: some ContiguousBytes
  ) throws(TrInXError) -> MultiCounterCertificate {
    let slot = try slot(of: instance)
    return try state.withLock { (instances) throws(TrInXError) in
      try instances[slot].certifyMultiIndependent(updates, message: message)
    }
  }

  /// ``TrInXInstance/certifyMultiContinuing(_:message:)`` on `instance`.
  public func certifyMultiContinuing(
    instance: TrInXInstanceID, _ updates: [CounterUpdate], message: some ContiguousBytes
  ) throws(TrInXError) -> MultiCounterCertificate {
    let slot = try slot(of: instance)
    return try state.withLock { (instances) throws(TrInXError) in
      try instances[slot].certifyMultiContinuing(updates, message: message)
    }
  }

  /// Whether `certificate` is valid over `message` (any issuer of the group).
  public func verify(_ certificate: Certificate, message: some ContiguousBytes) -> Bool {
    verifier.verify(certificate, message: message)
  }

  /// Whether `certificate` is valid over `message` (any issuer of the group).
  public func verify(_ certificate: MultiCounterCertificate, message: some ContiguousBytes)
    -> Bool
  {
    verifier.verify(certificate, message: message)
  }

  private func slot(of instance: TrInXInstanceID) throws(TrInXError) -> Int {
    guard let slot = slots[instance] else { throw .unknownInstance(instance) }
    return slot
  }
}
