/// The replica-wide rules that keep P independent pillars in step (§5.3): the
/// merge of their deliveries into global order (§5.3.1), gap filling, shared
/// checkpointing (§5.3.2) and the three local protocols of the distributed view
/// change (§5.3.3):
/// 1. *view-change preparation*: when one pillar leaves its view, every other
///    pillar is told to leave it too, handing over the latest stable checkpoint so
///    that each adapts its window before it sends its VIEW-CHANGE part;
/// 2. *new view*: VIEW-CHANGE, NEW-VIEW and NEW-VIEW-ACK parts are assembled by a
///    ``ViewChangeGate`` and reach the pillars only when all P parts are valid; a
///    new leader's pillars send their NEW-VIEW parts only once every one of them
///    holds a new-view certificate (with rotating leaders, each leader of a view
///    sends the parts of the pillars it leads and installs the view, like everyone,
///    only with every leader's parts);
/// 3. *stable view*: the replica is in a view once every pillar installed it.
///
/// Pure, like the pillars: the shells pass it the pillars' coordinated actions and
/// carry out its outputs. The runtime runs it on the execution stage's thread; the
/// simulator and ``ReplicaPillars`` call it inline.
public struct PillarCoordinator: Sendable {
  /// What the coordinator asks the shell to do.
  public enum Output: Sendable, Equatable {
    /// Hand an input to one pillar.
    case pillar(Int, PillarInput)
    /// Execute the batch at global `order`; strictly increasing and gap-free.
    case deliver(order: OrderNumber, view: View, batch: Batch)
    /// The checkpoint at global `order` is stable: discard older snapshots.
    case checkpointStable(order: OrderNumber, stateDigest: Digest)
    /// Fetch the state of the stable checkpoint at global `order`.
    case stateTransferNeeded(order: OrderNumber, stateDigest: Digest, from: [ReplicaID])
    /// The replica left its view (all its pillars follow).
    case viewChangeStarted(view: View)
    /// Every pillar installed `view`: the replica's new stable view.
    case viewInstalled(view: View, leader: ReplicaID)
  }

  /// The group configuration.
  public let configuration: ProtocolConfiguration
  /// This replica.
  public let replica: ReplicaID
  /// How order numbers map onto pillars.
  public var layout: PillarLayout { merger.layout }
  var merger: DeliveryMerger
  var gate: ViewChangeGate
  /// The latest stable checkpoint (local order numbers, the same in every pillar).
  public private(set) var stable: StableCheckpoint?
  /// The highest view a pillar left its view for.
  public private(set) var leaving: View = 0
  /// The view every pillar installed.
  public private(set) var view: View = 0
  var installed: [View]
  var fillSent: [OrderNumber]
  var readyToLead: [View]
  var ledView: View = 0
  /// The global order number up to which pillars were last allowed to deliver.
  var deliveryLimit: OrderNumber

  /// A coordinator for the `configuration.pillarCount` pillars of `replica`.
  public init(configuration: ProtocolConfiguration, replica: ReplicaID) {
    self.configuration = configuration
    self.replica = replica
    merger = DeliveryMerger(layout: configuration.layout)
    gate = ViewChangeGate(pillarCount: configuration.pillarCount)
    installed = Array(repeating: 0, count: configuration.pillarCount)
    fillSent = Array(repeating: 0, count: configuration.pillarCount)
    readyToLead = Array(repeating: 0, count: configuration.pillarCount)
    deliveryLimit = configuration.windowSize
  }

  /// Restarts the coordinator of restarted pillars (issue 12): execution resumes
  /// after global `executedThrough` (the restored snapshot's checkpoint, or 0), each
  /// pillar in the view it restored. Pillars that were changing views say so again
  /// when they resume (``OrderingPillar/resume(into:)``), which opens the gate for
  /// that view's parts and takes their siblings along.
  public init(
    configuration: ProtocolConfiguration, replica: ReplicaID, executedThrough: OrderNumber,
    restored pillars: [OrderingPillar]
  ) {
    self.init(configuration: configuration, replica: replica)
    var ready: [(order: OrderNumber, view: View, batch: Batch)] = []
    merger.skip(through: executedThrough, into: &ready)
    installed = pillars.map(\.view)
    view = installed.min() ?? 0
    stable = pillars.compactMap(\.stableCheckpoint).max { $0.order < $1.order }
    deliveryLimit = executedThrough + configuration.windowSize
    gate.advance(to: view)
  }

  /// The next global order number execution waits for.
  public var nextExecution: OrderNumber { merger.next }

  /// The number of deliveries held back until the global order reaches them.
  public var waitingDeliveries: Int { merger.waitingCount }

  /// Their bound: pillars deliver at most a window beyond what was handed to
  /// execution, and the limit moves a checkpoint interval at a time.
  public var waitingDeliveriesBound: Int {
    Int(configuration.windowSize + configuration.checkpointInterval)
  }

  /// The number of view-change parts held until all parts of their message arrive.
  public var heldParts: Int { gate.heldParts }

  /// Their bound: one per pillar, kind (3) and origin, for the views the gate holds,
  /// and one far NEW-VIEW.
  public var heldPartsBound: Int {
    (Int(ViewChangeGate.viewsAhead + 2) * 3 * configuration.replicaCount + 1)
      * configuration.pillarCount
  }

  /// Whether the shell hands `action` to the coordinator rather than carrying it out
  /// for the pillar itself.
  public static func isCoordinated(_ action: PillarAction) -> Bool {
    switch action {
    case .deliver, .checkpointStable, .stateTransferNeeded, .viewChangeStarted, .viewInstalled,
      .proposedThrough, .readyToLead, .newViewPart:
      true
    case .send, .broadcast, .armBatchTimer, .persist, .rejected: false
    }
  }

  /// Takes a coordinated action of pillar `pillar`.
  public mutating func pillar(_ pillar: Int, did action: PillarAction, into out: inout [Output]) {
    let others = (0..<configuration.pillarCount).filter { $0 != pillar }
    switch action {
    case .deliver(let order, let view, let batch):
      var ready: [(order: OrderNumber, view: View, batch: Batch)] = []
      merger.add(pillar: pillar, local: order, view: view, batch: batch, into: &ready)
      handOn(ready, into: &out)
    case .checkpointStable(let checkpoint):
      guard checkpoint.order > (stable?.order ?? 0) else { return }
      stable = checkpoint
      out.append(
        .checkpointStable(
          order: layout.globalCheckpoint(ofLocal: checkpoint.order),
          stateDigest: checkpoint.stateDigest))
      for other in others { out.append(.pillar(other, .checkpointLearned(checkpoint))) }
    case .stateTransferNeeded(let order, let digest, let from):
      let global = layout.globalCheckpoint(ofLocal: order)
      if merger.next > global {
        // Execution already got past the checkpoint (its siblings delivered, or a
        // transfer installed it before this pillar adopted the checkpoint): the
        // pillar just resumes after it.
        out.append(.pillar(pillar, .stateTransferred(order: order, executed: ReplyCache())))
      } else {
        out.append(.stateTransferNeeded(order: global, stateDigest: digest, from: from))
      }
    case .viewChangeStarted(let target):
      guard target > leaving else { return }
      leaving = target
      for part in gate.changing(to: target) where part.sender != replica {
        out.append(.pillar(part.pillar, .message(part.message, from: part.sender)))
      }
      out.append(.viewChangeStarted(view: target))
      for other in others { out.append(.pillar(other, .leaveView(target, checkpoint: stable))) }
    case .viewInstalled(let installedView, let leader):
      installed[pillar] = max(installed[pillar], installedView)
      if installedView < leaving {
        // Its siblings left this view while the pillar was still changing to it
        // (it had no certificate to support `leaving` then, so it kept its target):
        // it leaves too, or this replica's VIEW-CHANGE for `leaving` would lack this
        // pillar's part for good (simulator seed 630000553).
        out.append(.pillar(pillar, .leaveView(leaving, checkpoint: stable)))
      }
      let everyone = installed.min()!
      gate.advance(to: everyone)
      if everyone > view {
        view = everyone
        out.append(.viewInstalled(view: everyone, leader: leader))
      }
    case .readyToLead(let target):
      // ⑥–⑦ of §5.3.3: the NEW-VIEW parts go out once every pillar this replica
      // leads in the view (all of them, unless leaders rotate) holds a new-view
      // certificate for it.
      readyToLead[pillar] = max(readyToLead[pillar], target)
      let led = (0..<configuration.pillarCount).filter {
        configuration.leader(of: target, pillar: $0) == replica
      }
      guard target == leaving, target > ledView, led.allSatisfy({ readyToLead[$0] == target })
      else { return }
      ledView = target
      for every in led { out.append(.pillar(every, .lead(target))) }
    case .newViewPart(let newView):
      _ = admit(
        .newView(newView), from: replica, pillar: pillar, isValid: { _ in true }, into: &out)
    case .proposedThrough(let order):
      for other in others {
        let target = layout.fillTarget(afterLocal: order, of: pillar, for: other)
        guard target > fillSent[other] else { continue }
        fillSent[other] = target
        out.append(.pillar(other, .fillGaps(through: target)))
      }
    case .send, .broadcast, .armBatchTimer, .persist, .rejected:
      break
    }
  }

  /// Takes a view-change part received by pillar `pillar` (see ``ViewChangeGate``);
  /// `isValid` is that pillar's check of the part. Returns the rejection to count,
  /// if the part was invalid.
  public mutating func admit(
    _ message: ProtocolMessage, from sender: ReplicaID, pillar: Int,
    isValid: (ProtocolMessage) -> Bool, into out: inout [Output]
  ) -> Rejection? {
    if case .newViewAck(let ack) = message, configuration.hasSeveralLeaders(ack.view) {
      // A view with several leaders may never have all its NEW-VIEW parts (one leader
      // is faulty): each pillar acknowledges, and is vouched for, on its own.
      out.append(.pillar(pillar, .message(message, from: sender)))
      return nil
    }
    switch gate.admit(message, from: sender, pillar: pillar, isValid: isValid) {
    case .release(let parts):
      for part in parts {
        if part.sender == replica, case .newView(let newView) = part.message {
          out.append(.pillar(part.pillar, .ownNewView(newView)))
        } else {
          out.append(.pillar(part.pillar, .message(part.message, from: part.sender)))
        }
      }
      return nil
    case .held: return nil
    case .invalid: return .invalidCertificate(message: "view-change part", sender: sender)
    }
  }

  /// Hands what the merge released to execution and lets the pillars go further.
  mutating func handOn(
    _ ready: [(order: OrderNumber, view: View, batch: Batch)], into out: inout [Output]
  ) {
    for instance in ready {
      out.append(.deliver(order: instance.order, view: instance.view, batch: instance.batch))
    }
    raiseDeliveryLimit(into: &out)
  }

  /// Lets every pillar deliver up to a window beyond what execution was handed,
  /// once that moved by a checkpoint interval (so at most one input per pillar and
  /// K instances).
  mutating func raiseDeliveryLimit(into out: inout [Output]) {
    guard configuration.pillarCount > 1 else { return }
    let limit = merger.next - 1 + configuration.windowSize
    guard limit >= deliveryLimit + configuration.checkpointInterval else { return }
    deliveryLimit = limit
    for pillar in 0..<configuration.pillarCount {
      // The last local order number of `pillar` at or below `limit`.
      let local = limit > UInt64(pillar) ? layout.local(ofGlobal: limit - UInt64(pillar)) : 0
      out.append(.pillar(pillar, .deliverThrough(local)))
    }
  }

  /// The execution stage took the checkpoint at global `order`: the pillar whose
  /// turn it is runs the checkpoint protocol (§5.3.2).
  public func checkpointTaken(order: OrderNumber, stateDigest: Digest, into out: inout [Output]) {
    let owner = layout.checkpointPillar(ofGlobal: order, interval: configuration.checkpointInterval)
    out.append(
      .pillar(
        owner,
        .checkpointTaken(order: layout.localCheckpoint(ofGlobal: order), stateDigest: stateDigest)))
  }

  /// State transfer installed the checkpoint at global `order`: every pillar and the
  /// merge resume after it; `executed` is the reply vector after the install.
  public mutating func stateTransferred(
    order: OrderNumber, executed: ReplyCache, into out: inout [Output]
  ) {
    var ready: [(order: OrderNumber, view: View, batch: Batch)] = []
    merger.skip(through: order, into: &ready)
    handOn(ready, into: &out)
    let local = layout.localCheckpoint(ofGlobal: order)
    for pillar in 0..<configuration.pillarCount {
      out.append(.pillar(pillar, .stateTransferred(order: local, executed: executed)))
    }
  }
}
