import Testing
import TrInX

/// The batched boundary (§5.1, §6.1) gives exactly the results of the individual calls.
@Suite struct BatchTests {
  /// The individual public call for `command`, written out independently of `execute`.
  static func individually(_ command: TrInXCommand, on instance: inout TrInXInstance)
    -> TrInXResult
  {
    do {
      switch command {
      case .certifyIndependent(let c, let v, let m):
        return .certificate(try instance.certifyIndependent(counter: c, newValue: v, message: m))
      case .certifyContinuing(let c, let v, let m):
        return .certificate(try instance.certifyContinuing(counter: c, newValue: v, message: m))
      case .trustedMAC(let c, let m):
        return .certificate(try instance.trustedMAC(counter: c, message: m))
      case .certifyMultiIndependent(let u, let m):
        return .multiCertificate(try instance.certifyMultiIndependent(u, message: m))
      case .certifyMultiContinuing(let u, let m):
        return .multiCertificate(try instance.certifyMultiContinuing(u, message: m))
      case .verify(let certificate, let m):
        return .verified(instance.verify(certificate, message: m))
      case .verifyMulti(let certificate, let m):
        return .verified(instance.verify(certificate, message: m))
      }
    } catch {
      return .refused(error)
    }
  }

  /// One instance runs every command individually as it is generated; the other runs
  /// the same commands in batches of random size. Results and counters must agree.
  @Test func batchedEqualsIndividual() throws {
    var rng = SplitMix64(seed: 42)
    var batched = try TrInXInstance(id: 9, counterCount: PropertyTests.counterCount, key: testKey)
    var individual = batched
    var pending: [TrInXCommand] = []
    var expected: [TrInXResult] = []
    var issued: [(TrInXResult, [UInt8])] = []
    var outcomes: [TrInXResult] = []
    var batches = 0
    for _ in 0..<3000 {
      var commands = [PropertyTests.randomCommand(model: snapshot(individual), &rng).0]
      // Mix in verifications of earlier results, intact or with the message changed.
      if !issued.isEmpty, rng.next() % 3 == 0 {
        var (earlier, message) = issued[Int(rng.next() % UInt64(issued.count))]
        if rng.next() % 4 == 0 { message.append(0) }
        switch earlier {
        case .certificate(let c): commands.append(.verify(c, message: message))
        case .multiCertificate(let c): commands.append(.verifyMulti(c, message: message))
        default: break
        }
      }
      for command in commands {
        pending.append(command)
        expected.append(Self.individually(command, on: &individual))
      }
      if rng.next() % 8 == 0 || pending.count > 20 {
        let results = batched.execute(pending)
        #expect(results == expected)
        #expect(snapshot(batched) == snapshot(individual))
        for (command, result) in zip(pending, results) {
          if case .certificate(let message) = PropertyTests.message(of: command) {
            issued.append((result, message))
          }
          outcomes.append(result)
        }
        pending.removeAll()
        expected.removeAll()
        batches += 1
      }
    }
    let verifiedTrue = outcomes.filter { $0 == .verified(true) }.count
    let verifiedFalse = outcomes.filter { $0 == .verified(false) }.count
    #expect(batches > 100)
    #expect(verifiedTrue > 50)
    #expect(verifiedFalse > 50)
  }
}
