import HybsterFuzzing

/// The fuzzed replica: one per process, so that state carries over from input to
/// input as on a long-running replica.
nonisolated(unsafe) var harness = ReplicaHarness()

/// libFuzzer's callback: one input through the harness; a broken invariant traps, so
/// that libFuzzer keeps the input as a crash.
func fuzzReplica(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  if let failure = harness.run(UnsafeBufferPointer(start: data, count: size)) {
    fatalError("FuzzReplica: \(failure)")
  }
  return 0
}
