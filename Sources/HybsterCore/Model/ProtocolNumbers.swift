import TrInX

/// The range of every number a message carries that the protocol computes with:
/// views, order numbers, request sequence numbers and TrInX counter values (§5.1,
/// §5.2). They come from the network, so a faulty peer picks them; bounding them at
/// 2^56 leaves room for every sum and product the core forms (an order number times
/// at most 64 pillars, plus a window) without an overflow, so no chosen number can
/// trap a replica. At a million instances a second, 2^56 lasts two thousand years.
public enum ProtocolNumbers {
  /// The largest number a message may carry.
  public static let limit: UInt64 = 1 << 56

  /// Whether `value` is within ``limit``.
  @inlinable
  public static func isValid(_ value: UInt64) -> Bool { value <= limit }
}

extension CounterValue {
  var isInRange: Bool { ProtocolNumbers.isValid(high) && ProtocolNumbers.isValid(low) }
}

extension Certificate {
  var numbersInRange: Bool { newValue.isInRange && (previousValue?.isInRange ?? true) }
}

extension Request {
  /// Whether the sequence number is within ``ProtocolNumbers/limit``.
  public var numbersInRange: Bool { ProtocolNumbers.isValid(sequence) }
}

extension Prepare {
  var numbersInRange: Bool {
    ProtocolNumbers.isValid(view) && ProtocolNumbers.isValid(order) && certificate.numbersInRange
      && batch.requests.allSatisfy(\.numbersInRange)
  }
}

extension CheckpointMessage {
  var numbersInRange: Bool { ProtocolNumbers.isValid(order) && certificate.numbersInRange }
}

extension ViewChange {
  var numbersInRange: Bool {
    ProtocolNumbers.isValid(fromView) && ProtocolNumbers.isValid(toView)
      && certificate.numbersInRange && prepares.allSatisfy(\.numbersInRange)
      && (checkpoint.map {
        ProtocolNumbers.isValid($0.order) && $0.proof.allSatisfy(\.numbersInRange)
      } ?? true)
  }
}

extension NewViewAck {
  var numbersInRange: Bool {
    ProtocolNumbers.isValid(view) && certificate.numbersInRange
      && prepares.allSatisfy(\.numbersInRange)
  }
}

extension ProtocolMessage {
  /// Whether every view, order number, sequence number and counter value in the
  /// message is within ``ProtocolNumbers/limit``. The wire decoder refuses any
  /// other; the core checks again before it computes with them.
  public var numbersInRange: Bool {
    switch self {
    case .prepare(let m): m.numbersInRange
    case .commit(let m):
      ProtocolNumbers.isValid(m.view) && ProtocolNumbers.isValid(m.order)
        && m.certificate.numbersInRange
    case .checkpoint(let m): m.numbersInRange
    case .forwardedRequest(let m): m.numbersInRange
    case .status(let m): ProtocolNumbers.isValid(m.view) && ProtocolNumbers.isValid(m.nextDelivery)
    case .viewChange(let m): m.numbersInRange
    case .newView(let m):
      ProtocolNumbers.isValid(m.view) && m.viewChanges.allSatisfy(\.numbersInRange)
        && m.acknowledgments.allSatisfy(\.numbersInRange) && m.prepares.allSatisfy(\.numbersInRange)
    case .newViewAck(let m): m.numbersInRange
    }
  }
}
