import HybsterCore
import HybsterServices

/// The second copy of a Byzantine replica in Twins-style testing (Bano et al.,
/// "Twins: BFT Systems Made Robust", 2022): the same identity, its own pillar state
/// and execution stage, talking only to `audience` while the first copy talks to the
/// rest of the group. TrInX fits this only with one trusted counter per pillar for
/// both copies (a TrInX instance never certifies two messages for one counter value,
/// §5.1), so everything either copy sends is certified by the same
/// ``AdversarySigner``s; a value one copy used is refused to the other.
struct AdversaryTwin: Sendable {
  var ordering: ReplicaPillars
  var execution: ExecutionStage<KeyValueStore>
  /// The replicas this copy talks to.
  let audience: Set<ReplicaID>

  /// Feeds `input` to the copy and carries out what it can on its own (execution,
  /// checkpoints); returns what it sends, by pillar, and its replies.
  mutating func handle(_ input: ReplicaPillars.Input, replicaCount n: Int) -> (
    sends: [[Outgoing]], replies: [Reply]
  ) {
    var sends: [[Outgoing]] = Array(repeating: [], count: ordering.pillars.count)
    var replies: [Reply] = []
    var inputs = [input]
    var steps = 0
    while !inputs.isEmpty, steps < 64 {
      steps += 1
      var actions: [ReplicaPillars.Action] = []
      ordering.handle(inputs.removeFirst(), into: &actions)
      SimulationRun.canonicalizeSends(&actions)
      for action in actions {
        switch action {
        case .send(let message, let to, let pillar) where audience.contains(to):
          sends[pillar].append(Outgoing(message: message, to: to))
        case .broadcast(let message, let pillar):
          for to in audience.sorted() { sends[pillar].append(Outgoing(message: message, to: to)) }
        case .deliver(let order, let view, let batch):
          guard order == execution.lastExecuted + 1 else { continue }
          if let snapshot = execution.execute(
            order: order, view: view, batch: batch, replies: &replies)
          {
            inputs.append(.checkpointTaken(order: order, stateDigest: snapshot.digest))
          }
        case .checkpointStable(let order, _):
          execution.checkpointStable(at: order)
        default:
          // No state transfer and no batch timer: a twin that falls behind stays
          // behind (its proposals go out on ticks).
          break
        }
      }
    }
    return (sends, replies)
  }
}

extension SimulationRun {
  /// Feeds `input` to replica `r`'s twin and sends what it sends, certified by the
  /// replica's one signer per pillar.
  func twinInput(_ r: Int, _ input: ReplicaPillars.Input) {
    guard var twin = replicas[r].twin else { return }
    let (sends, replies) = twin.handle(input, replicaCount: n)
    replicas[r].twin = twin
    for (u, wanted) in sends.enumerated() where !wanted.isEmpty {
      for out in replicas[r].adversary!.transform(wanted, pillar: u) {
        sendToReplica(from: r, out, pillar: u)
      }
    }
    for reply in replies {
      queue.schedule(.reply(reply), at: now + delay(p.clientLink) + p.slowness[r])
    }
  }

  /// Sends what the adversarial scheduler held, after a fresh link delay each.
  func release(_ messages: [HeldMessages.Held]) {
    for item in messages {
      schedule(
        from: item.from, to: item.to, item.message, pillar: item.pillar,
        at: now + delay(p.links[Int(item.from)][Int(item.to)]))
    }
  }
}
