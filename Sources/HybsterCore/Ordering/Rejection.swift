/// Why a pillar dropped an input. Rejections change no state (§5.2: faulty replicas
/// and clients may send anything).
public enum Rejection: Sendable, Hashable, CustomStringConvertible {
  case clientAuthentication(LaneKey, sequence: UInt64)
  case operationTooLarge(size: Int)
  case wrongView(message: String, view: View, current: View)
  case outsideWindow(message: String, order: OrderNumber, low: OrderNumber, high: OrderNumber)
  case notFromLeader(message: String, sender: ReplicaID)
  case senderMismatch(message: String, claimed: ReplicaID, sender: ReplicaID)
  case invalidCertificate(message: String, sender: ReplicaID)
  case batchTooLarge(count: Int)
  /// A PREPARE whose batch would put its view beyond the window byte budget of its
  /// checkpoint interval (``ProtocolConfiguration/intervalByteBudget``).
  case overByteBudget(order: OrderNumber, bytes: Int)
  case laneOutOfRange(lane: UInt32)
  case conflictingPrepare(order: OrderNumber)
  case unknownReplica(ReplicaID)
  case trinxRefused(String)
  /// A view, order number, sequence number or counter value above
  /// ``ProtocolNumbers/limit``.
  case numberOutOfRange(message: String)

  public var description: String {
    switch self {
    case .clientAuthentication(let lane, let seq):
      "request \(lane.client)/\(lane.lane)#\(seq) fails client authentication"
    case .operationTooLarge(let size): "operation of \(size) bytes exceeds the maximum"
    case .wrongView(let m, let v, let c): "\(m) for view \(v) while in view \(c)"
    case .outsideWindow(let m, let o, let l, let h): "\(m) for \(o) outside window (\(l), \(h)]"
    case .notFromLeader(let m, let s): "\(m) from non-leader \(s)"
    case .senderMismatch(let m, let c, let s): "\(m) claims replica \(c) but came from \(s)"
    case .invalidCertificate(let m, let s): "\(m) from \(s) carries an invalid certificate"
    case .batchTooLarge(let c): "batch of \(c) requests exceeds the maximum"
    case .overByteBudget(let o, let b):
      "PREPARE for \(o) with \(b) bytes of requests exceeds its interval's window byte budget"
    case .laneOutOfRange(let l): "lane \(l) is beyond the lanes a client may use"
    case .conflictingPrepare(let o): "second, different PREPARE for \(o)"
    case .unknownReplica(let r): "message from unknown replica \(r)"
    case .trinxRefused(let e): "TrInX refused: \(e)"
    case .numberOutOfRange(let m): "\(m) carries a number above \(ProtocolNumbers.limit)"
    }
  }
}
