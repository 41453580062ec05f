extension ProtocolConfiguration {
  /// Why the configuration refuses `request` — an operation over
  /// `maxOperationSize` or a lane beyond `maxLanesPerClient` — if it does. Checked
  /// for a client's request at the client port and by the pillar, and for every
  /// request of a PREPARE alike.
  public func refusal(of request: Request) -> Rejection? {
    if request.operation.count > maxOperationSize {
      return .operationTooLarge(size: request.operation.count)
    }
    if Int(request.lane) >= maxLanesPerClient {
      return .laneOutOfRange(lane: request.lane)
    }
    return nil
  }
}
