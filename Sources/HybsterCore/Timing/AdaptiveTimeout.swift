/// A timeout that follows measured delays, as TCP's retransmission timeout does
/// (RFC 6298): the smoothed delay plus four times its mean deviation, kept within
/// `minimum...maximum`. Until a delay is measured it is `initial`.
///
/// Pure and unit-free: the client measures request latencies in microseconds to time
/// its retransmissions, and a follower measures in ticks how long the requests it
/// forwarded take to execute, to time its suspicion of the leader (§5.2.3). A
/// stopped leader is then noticed within a few usual delays instead of after a fixed
/// second, while a loaded leader, whose delays grow, is given longer (issue 12).
public struct AdaptiveTimeout: Sendable, Hashable {
  /// The bounds of the timeout.
  public let minimum: UInt64
  public let maximum: UInt64
  private let initial: UInt64
  private var smoothed: Double?
  private var deviation: Double = 0

  /// A timeout of `initial` until delays are observed, always within
  /// `minimum...maximum`.
  /// - Precondition: `minimum <= maximum`.
  public init(minimum: UInt64, maximum: UInt64, initial: UInt64) {
    precondition(minimum <= maximum, "minimum above maximum")
    self.minimum = minimum
    self.maximum = maximum
    self.initial = initial
  }

  /// Takes one measured delay into account.
  public mutating func observe(_ delay: UInt64) {
    let sample = Double(min(delay, maximum))
    guard let smoothed else {
      self.smoothed = sample
      deviation = sample / 2
      return
    }
    deviation = 0.75 * deviation + 0.25 * abs(smoothed - sample)
    self.smoothed = 0.875 * smoothed + 0.125 * sample
  }

  /// The timeout now.
  public var current: UInt64 {
    guard let smoothed else { return min(max(initial, minimum), maximum) }
    let value = UInt64((smoothed + 4 * deviation).rounded(.up))
    return min(max(value, minimum), maximum)
  }
}
