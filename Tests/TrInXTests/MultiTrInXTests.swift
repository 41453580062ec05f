import Testing
import TrInX

/// Multi-TrInX (§6.1): several instances behind one lock, used from many tasks at once.
@Suite struct MultiTrInXTests {
  /// Eight tasks, each owning one counter of one of four instances, certify
  /// concurrently; every counter ends exactly where its owner left it.
  @Test func concurrentOwnersKeepCountersConsistent() async throws {
    let multi = try MultiTrInX(ids: [10, 11, 12, 13], counterCount: 2, key: testKey)
    let rounds = 300
    let allValid = await withTaskGroup(of: Bool.self) { group in
      for task in 0..<8 {
        group.addTask {
          let instance = TrInXInstanceID(10 + task % 4)
          let counter = TrInXCounterID(task / 4)
          var valid = true
          var low: UInt64 = 0
          while low < UInt64(rounds) {
            let message: [UInt8] = [UInt8(task), UInt8(truncatingIfNeeded: low)]
            if low % 3 == 0 {
              low += 1
              let certificate = try! multi.certifyIndependent(
                instance: instance, counter: counter, newValue: .init(high: 0, low: low),
                message: message)
              valid =
                valid && multi.verify(certificate, message: message)
                && certificate.issuer == instance
            } else {
              // A batch: two continuing steps and a trusted MAC.
              let results = try! multi.execute(
                instance: instance,
                commands: [
                  .certifyContinuing(
                    counter: counter, newValue: .init(high: 0, low: low + 1), message: message),
                  .certifyContinuing(
                    counter: counter, newValue: .init(high: 0, low: low + 2), message: message),
                  .trustedMAC(counter: counter, message: message),
                ])
              for result in results {
                guard case .certificate(let c) = result else { return false }
                valid = valid && multi.verify(c, message: message)
              }
              low += 2
            }
          }
          return valid
        }
      }
      return await group.reduce(true) { $0 && $1 }
    }
    #expect(allValid)
    for instance in multi.instanceIDs {
      for counter in TrInXCounterID(0)..<2 {
        #expect(try multi.value(instance: instance, counter: counter).low >= UInt64(rounds))
        #expect(try multi.value(instance: instance, counter: counter).high == 0)
      }
    }
  }

  /// Tasks racing for the same counter: every value is certified at most once
  /// (no equivocation, §5.2), and the accepted values are exactly 1…final.
  @Test func racingTasksNeverShareAValue() async throws {
    let multi = try MultiTrInX(ids: [1, 2], counterCount: 1, key: testKey)
    let accepted = await withTaskGroup(of: [UInt64].self) { group in
      for task in 0..<6 {
        group.addTask {
          var mine: [UInt64] = []
          for _ in 0..<200 {
            let now = try! multi.value(instance: 2, counter: 0)
            let next = CounterValue(high: 0, low: now.low + 1)
            do throws(TrInXError) {
              let c = try multi.certifyIndependent(
                instance: 2, counter: 0, newValue: next, message: [UInt8(task)])
              mine.append(c.newValue.low)
            } catch {
              guard case .notGreater = error else { return [] }
            }
            await Task.yield()
          }
          return mine
        }
      }
      return await group.reduce(into: []) { $0 += $1 }
    }
    let final = try multi.value(instance: 2, counter: 0).low
    #expect(final >= 200)
    #expect(accepted.sorted() == Array(1...final))
    #expect(try multi.value(instance: 1, counter: 0) == .zero)
  }

  @Test func hostedInstancesAreIndependent() throws {
    let multi = try MultiTrInX(ids: [7, 3], counterCount: 1, key: testKey)
    let v = CounterValue(high: 1, low: 0)
    let a = try multi.certifyIndependent(instance: 7, counter: 0, newValue: v, message: [1])
    let b = try multi.certifyIndependent(instance: 3, counter: 0, newValue: v, message: [1])
    #expect(a.issuer == 7 && b.issuer == 3)
    #expect(a.mac != b.mac)
    #expect(multi.instanceIDs == [7, 3])
    // Equal values are refused per instance, not across instances.
    #expect(throws: TrInXError.notGreater(counter: 0, current: v, requested: v)) {
      try multi.certifyIndependent(instance: 3, counter: 0, newValue: v, message: [2])
    }
    // A stand-alone instance with the group key accepts Multi-TrInX certificates.
    let outside = try TrInXInstance(id: 99, counterCount: 1, key: testKey)
    #expect(outside.verify(a, message: [1]))
    let m = try multi.certifyMultiContinuing(
      instance: 7, [CounterUpdate(counter: 0, newValue: .init(high: 2, low: 0))], message: [3])
    #expect(outside.verify(m, message: [3]))
    #expect(multi.verify(m, message: [3]))
    let t = try multi.trustedMAC(instance: 3, counter: 0, message: [4])
    #expect(t.isTrustedMAC && multi.verify(t, message: [4]))
  }
}
