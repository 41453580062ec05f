import HybsterCore
import Testing

@testable import HybsterServices

@Suite("KeyValueStore")
struct KeyValueStoreTests {
  func run(_ store: inout KeyValueStore, _ operation: KeyValueOperation) throws -> KeyValueResult {
    try KeyValueResult.decode(store.execute(operation.encode()))
  }

  @Test("get, put and delete")
  func basicOperations() throws {
    var store = KeyValueStore()
    let k = Array("k".utf8)
    #expect(try run(&store, .get(key: k)) == .value(nil))
    #expect(try run(&store, .put(key: k, value: [1])) == .ok)
    #expect(try run(&store, .get(key: k)) == .value([1]))
    #expect(try run(&store, .put(key: k, value: [])) == .ok)
    #expect(try run(&store, .get(key: k)) == .value([]))
    #expect(try run(&store, .delete(key: k)) == .ok)
    #expect(try run(&store, .delete(key: k)) == .notFound)
    #expect(try run(&store, .get(key: k)) == .value(nil))
    #expect(store.entries.isEmpty)
  }

  @Test("compare-and-swap applies only on a match and reports the current value")
  func compareAndSwap() throws {
    var store = KeyValueStore()
    let k = Array("c".utf8)
    // Absent key: expecting a value fails, expecting absence succeeds.
    #expect(
      try run(&store, .compareAndSwap(key: k, expected: [0], new: [1])) == .casFailed(current: nil))
    #expect(store[k] == nil)
    #expect(try run(&store, .compareAndSwap(key: k, expected: nil, new: [1])) == .ok)
    #expect(store[k] == [1])
    // Present key: expecting absence fails.
    #expect(
      try run(&store, .compareAndSwap(key: k, expected: nil, new: [2])) == .casFailed(current: [1]))
    // Wrong value fails and changes nothing.
    #expect(
      try run(&store, .compareAndSwap(key: k, expected: [9], new: [2])) == .casFailed(current: [1]))
    #expect(store[k] == [1])
    // The empty value is a value, distinct from absence.
    #expect(try run(&store, .compareAndSwap(key: k, expected: [1], new: [])) == .ok)
    #expect(store[k] == [])
    #expect(
      try run(&store, .compareAndSwap(key: k, expected: nil, new: [3])) == .casFailed(current: []))
    #expect(try run(&store, .compareAndSwap(key: k, expected: [], new: [3])) == .ok)
    #expect(store[k] == [3])
  }

  @Test("malformed operation bytes yield an error result and change nothing")
  func malformedOperation() throws {
    var store = KeyValueStore()
    _ = store.execute(KeyValueOperation.put(key: [1], value: [2]).encode())
    let before = store.snapshot()
    for garbage: [UInt8] in [[], [0], [1], [1, 2], [7, 1, 0, 0, 0, 0], [1, 3, 0, 0, 0, 5, 1]] {
      let result = try KeyValueResult.decode(store.execute(garbage))
      guard case .error = result else {
        Issue.record("expected an error result for \(garbage), got \(result)")
        continue
      }
    }
    #expect(store.snapshot() == before)
  }

  @Test("snapshot and restore round-trip")
  func snapshotRoundTrip() throws {
    var store = KeyValueStore()
    for i in 0..<50 {
      _ = store.apply(.put(key: Array("key\(i)".utf8), value: Array(repeating: UInt8(i), count: i)))
    }
    _ = store.apply(.put(key: [], value: [0xFF]))
    let snapshot = store.snapshot()
    var restored = KeyValueStore()
    _ = restored.apply(.put(key: Array("stale".utf8), value: [1]))
    try restored.restore(from: snapshot)
    #expect(restored.entries == store.entries)
    #expect(restored.snapshot() == snapshot)
  }

  @Test("the empty store's snapshot is the documented header")
  func emptySnapshot() {
    #expect(KeyValueStore().snapshot() == Array("HKVS".utf8) + [1] + [0, 0, 0, 0, 0, 0, 0, 0])
  }

  @Test("equal states give equal snapshots whatever the insertion order")
  func canonicalSnapshot() {
    var rng = SplitMix64(seed: 42)
    let pairs = (0..<200).map { i in
      (Array("k\(i)".utf8) + [UInt8(truncatingIfNeeded: rng.next())], [UInt8(i % 256)])
    }
    var a = KeyValueStore()
    var b = KeyValueStore()
    for (k, v) in pairs { _ = a.apply(.put(key: k, value: v)) }
    for (k, v) in pairs.shuffled(using: &rng) { _ = b.apply(.put(key: k, value: v)) }
    // b also takes a detour through extra keys that it deletes again.
    _ = b.apply(.put(key: [0xEE], value: [1]))
    _ = b.apply(.delete(key: [0xEE]))
    #expect(a.snapshot() == b.snapshot())
    _ = b.apply(.put(key: pairs[0].0, value: [0xAB]))
    #expect(a.snapshot() != b.snapshot())
  }

  @Test("restore rejects malformed snapshots and leaves the state unchanged")
  func restoreRejectsGarbage() throws {
    var source = KeyValueStore()
    _ = source.apply(.put(key: [1], value: [10]))
    _ = source.apply(.put(key: [2], value: [20]))
    let good = source.snapshot()

    var target = KeyValueStore()
    _ = target.apply(.put(key: Array("mine".utf8), value: [7]))
    let before = target.entries

    func expectRejected(_ bytes: [UInt8], _ expected: KeyValueStoreSnapshotError? = nil) {
      do {
        try target.restore(from: bytes)
        Issue.record("restore accepted \(bytes)")
      } catch let error as KeyValueStoreSnapshotError {
        if let expected { #expect(error == expected) }
      } catch {
        Issue.record("untyped error \(error)")
      }
      #expect(target.entries == before)
    }

    expectRejected([])
    expectRejected(Array("XKVS".utf8) + good.dropFirst(4), .badMagic)
    var badVersion = good
    badVersion[4] = 2
    expectRejected(badVersion, .malformed(.unsupportedVersion(2)))
    expectRejected(good + [0], .malformed(.trailingBytes(1)))
    for length in 0..<good.count { expectRejected(Array(good.prefix(length))) }
    // A huge count is refused before any allocation.
    var hugeCount = Array(good.prefix(5))
    hugeCount += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    expectRejected(hugeCount, .countExceedsData(UInt64.max))
    // Keys out of order, or duplicated: not canonical.
    var swapped = ByteWriter()
    for byte in Array("HKVS".utf8) + [1] { swapped.append(byte) }
    swapped.append(UInt64(2))
    swapped.append(lengthPrefixed: [2])
    swapped.append(lengthPrefixed: [20])
    swapped.append(lengthPrefixed: [1])
    swapped.append(lengthPrefixed: [10])
    expectRejected(swapped.bytes, .keysNotStrictlyIncreasing)
    var duplicate = ByteWriter()
    for byte in Array("HKVS".utf8) + [1] { duplicate.append(byte) }
    duplicate.append(UInt64(2))
    for _ in 0..<2 {
      duplicate.append(lengthPrefixed: [1])
      duplicate.append(lengthPrefixed: [10])
    }
    expectRejected(duplicate.bytes, .keysNotStrictlyIncreasing)

    try target.restore(from: good)
    #expect(target.entries == source.entries)
  }

  @Test("the store is deterministic: replicas given the same operations agree")
  func determinism() {
    var rng = SplitMix64(seed: 7)
    var operations: [[UInt8]] = []
    for _ in 0..<500 {
      let key = [UInt8(rng.next() % 16)]
      let value = [UInt8(truncatingIfNeeded: rng.next())]
      switch rng.next() % 5 {
      case 0: operations.append(KeyValueOperation.get(key: key).encode())
      case 1: operations.append(KeyValueOperation.put(key: key, value: value).encode())
      case 2: operations.append(KeyValueOperation.delete(key: key).encode())
      case 3:
        operations.append(
          KeyValueOperation.compareAndSwap(key: key, expected: [UInt8(rng.next() % 4)], new: value)
            .encode())
      default: operations.append([UInt8(truncatingIfNeeded: rng.next())])
      }
    }
    var a = KeyValueStore()
    var b = KeyValueStore()
    let resultsA = operations.map { a.execute($0) }
    let resultsB = operations.map { b.execute($0) }
    #expect(resultsA == resultsB)
    #expect(a.snapshot() == b.snapshot())
    #expect(!a.entries.isEmpty)
  }
}
