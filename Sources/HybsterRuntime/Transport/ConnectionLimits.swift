import Logging
import NIOCore
import Synchronization

/// The bounds on one listening port's connections (issue 11): how many may be open
/// at once, from one IP address and in all, how long a new connection has to
/// prove its identity, and how long a frame may take to arrive.
public struct ConnectionLimits: Sendable, Hashable {
  /// The most connections open at once.
  public var total: Int
  /// The most connections open at once from one IP address.
  public var perAddress: Int
  /// How long a new connection has to complete its handshake.
  public var handshakeTimeout: TimeAmount
  /// How long a frame may stay incomplete (``SlowFrameGuard``).
  public var frameTimeout: TimeAmount

  /// Creates limits.
  public init(
    total: Int, perAddress: Int, handshakeTimeout: TimeAmount = .seconds(5),
    frameTimeout: TimeAmount = .seconds(30)
  ) {
    self.total = total
    self.perAddress = perAddress
    self.handshakeTimeout = handshakeTimeout
    self.frameTimeout = frameTimeout
  }

  /// The client port: 4,096 connections, 512 from one address (a load generator on
  /// one host opens one per client and replica).
  public static let clients = ConnectionLimits(total: 4096, perAddress: 512)
  /// A peer port: a few per replica (a link reconnecting overlaps its old one).
  public static func peers(replicaCount: Int) -> ConnectionLimits {
    ConnectionLimits(total: 4 * replicaCount, perAddress: 4 * replicaCount)
  }
}

/// Counts one port's open connections against its ``ConnectionLimits`` and logs
/// refused connections at a bounded rate: a flood of bad connections costs a few
/// log lines, not one each. Shared by the port's connections, on any thread.
final class ConnectionGate: Sendable {
  let limits: ConnectionLimits
  private let port: String
  private let logger: Logger
  private let state = Mutex<(open: [String: Int], total: Int, refused: Int)>(([:], 0, 0))

  init(limits: ConnectionLimits, port: String, logger: Logger) {
    self.limits = limits
    self.port = port
    self.logger = logger
  }

  /// Admits a connection from `address`, or refuses it (then not counted).
  func admit(_ address: String) -> Bool {
    let admitted = state.withLock { state in
      guard state.total < limits.total, state.open[address, default: 0] < limits.perAddress else {
        return false
      }
      state.total += 1
      state.open[address, default: 0] += 1
      return true
    }
    if !admitted { refused("connection limit reached (\(address))") }
    return admitted
  }

  /// A connection `admit` let in closed.
  func release(_ address: String) {
    state.withLock { state in
      state.total -= 1
      let left = state.open[address, default: 1] - 1
      state.open[address] = left > 0 ? left : nil
    }
  }

  /// Logs a refused connection or frame: the first 20, then every 1,000th.
  func refused(_ reason: @autoclosure () -> String) {
    let count = state.withLock { state in
      state.refused += 1
      return state.refused
    }
    if count <= 20 || count % 1000 == 0 {
      logger.notice("\(port): refused \(reason()) (\(count) refused so far)")
    }
  }
}
