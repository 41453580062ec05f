import HybsterCore
import HybsterRuntime
import NIOCore
import Synchronization

/// A client of a Hybster cluster (§5.2.1): authenticated requests, a result once
/// f+1 replicas sent matching authentic replies, retransmission to all replicas on
/// timeout, and at most `lanes` requests outstanding.
///
/// Exactly-once: every lane has strictly increasing sequence numbers and the
/// replicas cache each lane's last reply, so a retransmitted request is answered
/// without being executed again.
public final class HybsterClient: Sendable {
  private let eventLoop: any EventLoop
  private let core: UnsafeTransfer<ClientCore>
  private let retransmitCount = RetransmitCounter()
  private let connectTimeout: TimeAmount

  /// Creates a client with `lanes` request slots on one loop of `eventLoopGroup`.
  /// A request is abandoned with ``HybsterClientError/timeout`` after `giveUpAfter`.
  public init(
    config: ClusterConfig, credentials: ClientCredentials, lanes: Int,
    eventLoopGroup: any EventLoopGroup, giveUpAfter: TimeAmount = .seconds(30),
    connectTimeout: TimeAmount = .seconds(10)
  ) {
    precondition(lanes >= 1, "a client needs at least one lane")
    precondition(
      lanes <= config.protocolParameters.maxLanesPerClient,
      "more lanes than the group's maxLanesPerClient")
    let eventLoop = eventLoopGroup.next()
    self.eventLoop = eventLoop
    self.connectTimeout = connectTimeout
    let counter = retransmitCount
    self.core = UnsafeTransfer(
      ClientCore(
        config: config, credentials: credentials, lanes: lanes, eventLoop: eventLoop,
        giveUpAfter: giveUpAfter, onRetransmit: { counter.value.add(1, ordering: .relaxed) }))
  }

  /// The number of retransmissions so far.
  public var retransmissions: Int { retransmitCount.value.load(ordering: .relaxed) }

  /// Connects to every replica; returns once f+1 are connected.
  public func connect() async throws {
    let promise = eventLoop.makePromise(of: Void.self)
    let core = self.core
    let timeout = connectTimeout
    eventLoop.execute { core.value.start(connected: promise, timeout: timeout) }
    try await promise.futureResult.get()
  }

  /// Submits `operation`; `completion` runs on the client's event loop. Callable
  /// from any thread; waits for a free lane if all are busy.
  public func submit(
    _ operation: [UInt8],
    completion: @escaping @Sendable (Result<[UInt8], HybsterClientError>) -> Void
  ) {
    if eventLoop.inEventLoop {
      core.value.submit(operation, completion: completion)
    } else {
      let core = self.core
      eventLoop.execute { core.value.submit(operation, completion: completion) }
    }
  }

  /// Submits `operation` and returns its result.
  public func submit(_ operation: [UInt8]) async throws -> [UInt8] {
    try await withCheckedThrowingContinuation { continuation in
      submit(operation) { continuation.resume(with: $0) }
    }
  }

  /// Fails outstanding requests and closes every connection.
  public func shutdown() async {
    let core = self.core
    try? await eventLoop.submit { core.value.shutdown() }.get()
  }
}

/// A retransmission counter shared between the client's loop and its readers.
final class RetransmitCounter: Sendable {
  let value = Atomic<Int>(0)
}
