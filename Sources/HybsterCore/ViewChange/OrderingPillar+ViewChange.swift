/// The view change (§5.2.3).
extension OrderingPillar {
  mutating func receiveViewChange(
    _ viewChange: ViewChange, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {}

  mutating func receiveNewView(
    _ newView: NewView, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {}

  mutating func receiveNewViewAck(
    _ ack: NewViewAck, from sender: ReplicaID, into actions: inout [PillarAction]
  ) {}
}
