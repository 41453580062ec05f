import Testing
import TrInX

/// Randomized, seeded command sequences against a model of the counters (§5.1).
@Suite struct PropertyTests {
  static let counterCount = 4

  /// A random value close to `current`: below, equal, or above, with small components
  /// so that every rule is exercised often.
  static func nearbyValue(_ current: CounterValue, _ rng: inout SplitMix64) -> CounterValue {
    switch rng.next() % 6 {
    case 0: return current
    case 1: return CounterValue(high: current.high, low: current.low &+ 1)
    case 2: return CounterValue(high: current.high &+ 1, low: rng.next() % 3)
    case 3:
      return current.low > 0
        ? CounterValue(high: current.high, low: current.low - 1)
        : CounterValue(high: current.high &- 1, low: .max)
    default: return CounterValue(high: rng.next() % 4, low: rng.next() % 8)
    }
  }

  static func randomCounter(_ rng: inout SplitMix64) -> TrInXCounterID {
    // About one in twenty names a counter that does not exist.
    rng.next() % 20 == 0 ? TrInXCounterID(counterCount) : TrInXCounterID(rng.next() % 4)
  }

  static func randomMessage(_ rng: inout SplitMix64) -> [UInt8] {
    (0..<Int(rng.next() % 48)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
  }

  /// A random certification command and what the model says about it: the error it
  /// must be refused with, or nil if it must succeed.
  static func randomCommand(model: [CounterValue], _ rng: inout SplitMix64) -> (
    TrInXCommand, TrInXError?
  ) {
    func current(_ c: TrInXCounterID) -> CounterValue? {
      Int(c) < model.count ? model[Int(c)] : nil
    }
    let message = randomMessage(&rng)
    switch rng.next() % 5 {
    case 0, 1, 2:
      let counter = randomCounter(&rng)
      guard let now = current(counter) else {
        let error = TrInXError.unknownCounter(counter, counterCount: counterCount)
        return (.trustedMAC(counter: counter, message: message), error)
      }
      let value = nearbyValue(now, &rng)
      switch rng.next() % 3 {
      case 0:
        let error: TrInXError? =
          value > now ? nil : .notGreater(counter: counter, current: now, requested: value)
        return (.certifyIndependent(counter: counter, newValue: value, message: message), error)
      case 1:
        let error: TrInXError? =
          value >= now
          ? nil : .wouldMoveBackwards(counter: counter, current: now, requested: value)
        return (.certifyContinuing(counter: counter, newValue: value, message: message), error)
      default:
        return (.trustedMAC(counter: counter, message: message), nil)
      }
    default:
      let independent = rng.next() % 2 == 0
      let size = Int(rng.next() % 4)  // 0 is an invalid (empty) set
      var updates: [CounterUpdate] = []
      for _ in 0..<size {
        let counter = randomCounter(&rng)
        let base = current(counter) ?? .zero
        updates.append(CounterUpdate(counter: counter, newValue: nearbyValue(base, &rng)))
      }
      var error: TrInXError? = nil
      let counters = updates.map(\.counter)
      if counters.isEmpty || Set(counters).count != counters.count {
        error = .invalidCounterSet
      } else {
        for update in updates {
          guard let now = current(update.counter) else {
            error = .unknownCounter(update.counter, counterCount: counterCount)
            break
          }
          if independent, !(update.newValue > now) {
            error = .notGreater(counter: update.counter, current: now, requested: update.newValue)
            break
          }
          if !independent, update.newValue < now {
            error = .wouldMoveBackwards(
              counter: update.counter, current: now, requested: update.newValue)
            break
          }
        }
      }
      return (
        independent
          ? .certifyMultiIndependent(updates: updates, message: message)
          : .certifyMultiContinuing(updates: updates, message: message), error
      )
    }
  }

  /// Applies an accepted command to the model.
  static func apply(_ command: TrInXCommand, to model: inout [CounterValue]) {
    switch command {
    case .certifyIndependent(let c, let v, _), .certifyContinuing(let c, let v, _):
      model[Int(c)] = v
    case .certifyMultiIndependent(let updates, _), .certifyMultiContinuing(let updates, _):
      for u in updates { model[Int(u.counter)] = u.newValue }
    case .trustedMAC, .verify, .verifyMulti:
      break
    }
  }

  @Test func randomSequencesKeepTheInvariants() throws {
    var rng = SplitMix64(seed: 0x5EED_2017)
    let verifier = try TrInXInstance(id: 1000, counterCount: 1, key: testKey)
    var certified = 0
    var refused = 0
    for sequence in 0..<2000 {
      var instance = try TrInXInstance(
        id: TrInXInstanceID(sequence), counterCount: Self.counterCount, key: testKey)
      var model = snapshot(instance)
      for _ in 0..<20 {
        let (command, expectedError) = Self.randomCommand(model: model, &rng)
        let before = snapshot(instance)
        let result = instance.execute([command])[0]
        let after = snapshot(instance)
        #expect(zip(before, after).allSatisfy { $0 <= $1 }, "a counter moved backwards")
        switch result {
        case .refused(let error):
          refused += 1
          #expect(error == expectedError, "\(command)")
          #expect(after == before, "a refusal changed a counter")
        case .certificate(let certificate):
          certified += 1
          #expect(expectedError == nil, "\(command)")
          guard case .certificate(let message) = Self.message(of: command) else { continue }
          #expect(verifier.verify(certificate, message: message))
          #expect(certificate.issuer == instance.id)
          #expect(
            certificate.previousValue == nil
              || certificate.previousValue == before[Int(certificate.counter)])
          #expect(after[Int(certificate.counter)] == certificate.newValue)
          Self.apply(command, to: &model)
        case .multiCertificate(let certificate):
          certified += 1
          #expect(expectedError == nil, "\(command)")
          guard case .certificate(let message) = Self.message(of: command) else { continue }
          #expect(verifier.verify(certificate, message: message))
          #expect(certificate.isWellFormed)
          for entry in certificate.entries {
            #expect(entry.previousValue == nil || entry.previousValue == before[Int(entry.counter)])
            #expect(after[Int(entry.counter)] == entry.newValue)
          }
          Self.apply(command, to: &model)
        case .verified:
          Issue.record("a certification command returned a verification")
        }
        #expect(after == model)
      }
    }
    // The generator must actually exercise both outcomes.
    #expect(certified > 10_000)
    #expect(refused > 5_000)
  }

  enum MessageOf { case certificate([UInt8]), none }

  static func message(of command: TrInXCommand) -> MessageOf {
    switch command {
    case .certifyIndependent(_, _, let m), .certifyContinuing(_, _, let m), .trustedMAC(_, let m),
      .certifyMultiIndependent(_, let m), .certifyMultiContinuing(_, let m):
      return .certificate(m)
    case .verify, .verifyMulti:
      return .none
    }
  }
}
