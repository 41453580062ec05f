import Foundation
import HybsterCore
import HybsterRuntime
import HybsterServices
import Testing

/// Issue 12 with real `hybster replica` processes killed with SIGKILL: a power cut
/// of the whole cluster, and a rolling restart of every replica under load. Every
/// write a client saw acknowledged is read back afterwards.
@Suite("Replica processes killed and restarted (issue 12)", .serialized)
struct ProcessRestartTests {
  @Test(
    "kill -9 of every replica process, then a restart: every acknowledged write is read back",
    .enabled(if: ReplicaProcessCluster.executableExists))
  func powerCut() async throws {
    let cluster = try ReplicaProcessCluster()
    try cluster.startAll()
    try await cluster.withClient { run async throws -> Void in
      for i in 0..<200 {
        #expect(
          try await run(.put(key: KeyValueSession.key(i), value: KeyValueSession.value(i))) == .ok)
      }
    }
    cluster.killAll()
    let restart = ContinuousClock.now
    try cluster.startAll()
    try await cluster.withClient { run async throws -> Void in
      #expect(try await run(.get(key: KeyValueSession.key(0))) == .value(KeyValueSession.value(0)))
      print("processes: first read \(ContinuousClock.now - restart) after restarting all three")
      for i in 0..<200 {
        #expect(
          try await run(.get(key: KeyValueSession.key(i))) == .value(KeyValueSession.value(i)))
      }
    }
  }

  @Test(
    "a rolling restart of every replica process under load loses no acknowledged write",
    .enabled(if: ReplicaProcessCluster.executableExists))
  func rollingRestart() async throws {
    let cluster = try ReplicaProcessCluster()
    try cluster.startAll()
    try await cluster.withClient { run async throws -> Void in
      var written = 0
      for victim in 0..<3 {
        for _ in 0..<40 {
          #expect(
            try await run(
              .put(key: KeyValueSession.key(written), value: KeyValueSession.value(written))) == .ok
          )
          written += 1
        }
        cluster.kill(victim)
        // Writes go on with f+1 = 2 replicas while the victim is down.
        for _ in 0..<20 {
          #expect(
            try await run(
              .put(key: KeyValueSession.key(written), value: KeyValueSession.value(written))) == .ok
          )
          written += 1
        }
        try cluster.start(victim)
        try await Task.sleep(for: .milliseconds(500))
      }
      for i in 0..<written {
        #expect(
          try await run(.get(key: KeyValueSession.key(i))) == .value(KeyValueSession.value(i)))
      }
    }
  }
}
