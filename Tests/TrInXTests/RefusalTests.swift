import Testing
import TrInX

/// Every refusal throws its typed error and changes no counter (§5.1).
@Suite struct RefusalTests {
  /// An instance whose counters are at [0|0], [1|5], [2|0], [0|3].
  static func instance() throws -> TrInXInstance {
    var instance = try TrInXInstance(id: 3, counterCount: 4, key: testKey)
    _ = try instance.certifyContinuing(counter: 1, newValue: .init(high: 1, low: 5), message: [1])
    _ = try instance.certifyIndependent(counter: 2, newValue: .init(high: 2, low: 0), message: [2])
    _ = try instance.certifyIndependent(counter: 3, newValue: .init(high: 0, low: 3), message: [3])
    return instance
  }

  /// Runs `body`, requires it to throw exactly `expected`, and requires the instance's
  /// counters to be unchanged afterwards.
  static func expectRefusal<R>(
    _ expected: TrInXError, on instance: inout TrInXInstance,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (inout TrInXInstance) throws -> R
  ) {
    let before = snapshot(instance)
    do {
      _ = try body(&instance)
      Issue.record("expected \(expected), got a result", sourceLocation: sourceLocation)
    } catch {
      #expect(error as? TrInXError == expected, sourceLocation: sourceLocation)
    }
    #expect(snapshot(instance) == before, sourceLocation: sourceLocation)
  }

  @Test func unknownCounter() throws {
    var instance = try Self.instance()
    let unknown = TrInXError.unknownCounter(4, counterCount: 4)
    let v = CounterValue(high: 9, low: 9)
    Self.expectRefusal(unknown, on: &instance) {
      try $0.certifyIndependent(counter: 4, newValue: v, message: [0])
    }
    Self.expectRefusal(unknown, on: &instance) {
      try $0.certifyContinuing(counter: 4, newValue: v, message: [0])
    }
    Self.expectRefusal(unknown, on: &instance) { try $0.trustedMAC(counter: 4, message: [0]) }
    Self.expectRefusal(unknown, on: &instance) { try $0.value(of: 4) }
    Self.expectRefusal(.unknownCounter(.max, counterCount: 4), on: &instance) {
      try $0.certifyIndependent(counter: .max, newValue: v, message: [0])
    }
    // Multi: the unknown counter comes after acceptable ones; nothing may change.
    let updates = [CounterUpdate(counter: 0, newValue: v), CounterUpdate(counter: 4, newValue: v)]
    Self.expectRefusal(unknown, on: &instance) {
      try $0.certifyMultiIndependent(updates, message: [0])
    }
    Self.expectRefusal(unknown, on: &instance) {
      try $0.certifyMultiContinuing(updates, message: [0])
    }
  }

  @Test func independentNeedsStrictlyGreater() throws {
    var instance = try Self.instance()
    let current = CounterValue(high: 1, low: 5)
    for requested in [
      current, CounterValue(high: 1, low: 4), CounterValue(high: 0, low: .max), .zero,
    ] {
      Self.expectRefusal(
        .notGreater(counter: 1, current: current, requested: requested), on: &instance
      ) { try $0.certifyIndependent(counter: 1, newValue: requested, message: [7]) }
    }
    // The same through a multi-counter request, after an acceptable entry.
    let updates = [
      CounterUpdate(counter: 0, newValue: .init(high: 0, low: 1)),
      CounterUpdate(counter: 1, newValue: current),
    ]
    Self.expectRefusal(
      .notGreater(counter: 1, current: current, requested: current), on: &instance
    ) { try $0.certifyMultiIndependent(updates, message: [7]) }
  }

  @Test func continuingNeverMovesBackwards() throws {
    var instance = try Self.instance()
    let current = CounterValue(high: 2, low: 0)
    for requested in [CounterValue(high: 1, low: .max), CounterValue(high: 0, low: 0)] {
      Self.expectRefusal(
        .wouldMoveBackwards(counter: 2, current: current, requested: requested), on: &instance
      ) { try $0.certifyContinuing(counter: 2, newValue: requested, message: [7]) }
    }
    let updates = [
      CounterUpdate(counter: 3, newValue: .init(high: 0, low: 3)),  // equal: fine
      CounterUpdate(counter: 0, newValue: .init(high: 5, low: 0)),  // greater: fine
      CounterUpdate(counter: 2, newValue: .init(high: 1, low: 9)),  // backwards
    ]
    Self.expectRefusal(
      .wouldMoveBackwards(counter: 2, current: current, requested: .init(high: 1, low: 9)),
      on: &instance
    ) { try $0.certifyMultiContinuing(updates, message: [7]) }
  }

  @Test func invalidCounterSets() throws {
    var instance = try Self.instance()
    let v = CounterValue(high: 9, low: 0)
    Self.expectRefusal(.invalidCounterSet, on: &instance) {
      try $0.certifyMultiIndependent([], message: [1])
    }
    Self.expectRefusal(.invalidCounterSet, on: &instance) {
      try $0.certifyMultiContinuing([], message: [1])
    }
    let duplicate = [
      CounterUpdate(counter: 0, newValue: v), CounterUpdate(counter: 2, newValue: v),
      CounterUpdate(counter: 0, newValue: CounterValue(high: 10, low: 0)),
    ]
    Self.expectRefusal(.invalidCounterSet, on: &instance) {
      try $0.certifyMultiIndependent(duplicate, message: [1])
    }
    Self.expectRefusal(.invalidCounterSet, on: &instance) {
      try $0.certifyMultiContinuing(duplicate, message: [1])
    }
    // Larger sets take a different duplicate check.
    var big = try TrInXInstance(id: 1, counterCount: 40, key: testKey)
    var many = (0..<40).map { CounterUpdate(counter: TrInXCounterID($0), newValue: v) }
    many[39].counter = 17
    Self.expectRefusal(.invalidCounterSet, on: &big) {
      try $0.certifyMultiIndependent(many, message: [1])
    }
    many[39].counter = 39
    let certificate = try big.certifyMultiIndependent(many, message: [1])
    #expect(big.verify(certificate, message: [1]))
    #expect(snapshot(big) == Array(repeating: v, count: 40))
  }

  @Test(arguments: [0, 1, 16, 31, 33, 64])
  func badKeyLength(_ length: Int) {
    #expect(throws: TrInXError.invalidKeyLength(length)) {
      try TrInXInstance(id: 0, counterCount: 1, key: Array(repeating: 1, count: length))
    }
    #expect(throws: TrInXError.invalidKeyLength(length)) {
      try MultiTrInX(ids: [0, 1], counterCount: 1, key: Array(repeating: 1, count: length))
    }
  }

  @Test func refusalsThroughExecuteChangeNothing() throws {
    var instance = try Self.instance()
    let before = snapshot(instance)
    let results = instance.execute([
      .certifyIndependent(counter: 1, newValue: .init(high: 1, low: 5), message: [1]),
      .certifyContinuing(counter: 2, newValue: .zero, message: [1]),
      .trustedMAC(counter: 9, message: []),
      .certifyMultiIndependent(updates: [], message: []),
      .certifyMultiContinuing(
        updates: [
          .init(counter: 0, newValue: .init(high: 1, low: 0)), .init(counter: 2, newValue: .zero),
        ], message: []),
    ])
    #expect(
      results == [
        .refused(
          .notGreater(
            counter: 1, current: .init(high: 1, low: 5), requested: .init(high: 1, low: 5))),
        .refused(
          .wouldMoveBackwards(counter: 2, current: .init(high: 2, low: 0), requested: .zero)),
        .refused(.unknownCounter(9, counterCount: 4)),
        .refused(.invalidCounterSet),
        .refused(
          .wouldMoveBackwards(counter: 2, current: .init(high: 2, low: 0), requested: .zero)),
      ])
    #expect(snapshot(instance) == before)
  }

  @Test func multiTrInXUnknownInstance() throws {
    let multi = try MultiTrInX(ids: [4, 8], counterCount: 2, key: testKey)
    #expect(throws: TrInXError.unknownInstance(5)) {
      try multi.certifyIndependent(
        instance: 5, counter: 0, newValue: .init(high: 0, low: 1), message: [1])
    }
    #expect(throws: TrInXError.unknownInstance(0)) {
      try multi.execute(instance: 0, commands: [.trustedMAC(counter: 0, message: [])])
    }
    #expect(try multi.value(instance: 4, counter: 0) == .zero)
    #expect(try multi.value(instance: 8, counter: 1) == .zero)
  }
}
