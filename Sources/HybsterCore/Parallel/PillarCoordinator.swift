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
///    holds a new-view certificate;
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

  /// A coordinator for `configuration.pillarCount` pillars.
  public init(configuration: ProtocolConfiguration) {
    self.configuration = configuration
    merger = DeliveryMerger(layout: configuration.layout)
    gate = ViewChangeGate(pillarCount: configuration.pillarCount)
    installed = Array(repeating: 0, count: configuration.pillarCount)
    fillSent = Array(repeating: 0, count: configuration.pillarCount)
    readyToLead = Array(repeating: 0, count: configuration.pillarCount)
  }

  /// The next global order number execution waits for.
  public var nextExecution: OrderNumber { merger.next }

  /// The number of early deliveries and view-change parts held (bounded).
  public var heldCount: Int { merger.waitingCount + gate.heldParts }

  /// Whether the shell hands `action` to the coordinator rather than carrying it out
  /// for the pillar itself.
  public static func isCoordinated(_ action: PillarAction) -> Bool {
    switch action {
    case .deliver, .checkpointStable, .stateTransferNeeded, .viewChangeStarted, .viewInstalled,
      .proposedThrough, .readyToLead:
      true
    case .send, .broadcast, .armBatchTimer, .rejected: false
    }
  }

  /// Takes a coordinated action of pillar `pillar`.
  public mutating func pillar(_ pillar: Int, did action: PillarAction, into out: inout [Output]) {
    let others = (0..<configuration.pillarCount).filter { $0 != pillar }
    switch action {
    case .deliver(let order, let view, let batch):
      var ready: [(order: OrderNumber, view: View, batch: Batch)] = []
      merger.add(pillar: pillar, local: order, view: view, batch: batch, into: &ready)
      for instance in ready {
        out.append(.deliver(order: instance.order, view: instance.view, batch: instance.batch))
      }
    case .checkpointStable(let checkpoint):
      guard checkpoint.order > (stable?.order ?? 0) else { return }
      stable = checkpoint
      out.append(
        .checkpointStable(
          order: layout.globalCheckpoint(ofLocal: checkpoint.order),
          stateDigest: checkpoint.stateDigest))
      for other in others { out.append(.pillar(other, .checkpointLearned(checkpoint))) }
    case .stateTransferNeeded(let order, let digest, let from):
      out.append(
        .stateTransferNeeded(
          order: layout.globalCheckpoint(ofLocal: order), stateDigest: digest, from: from))
    case .viewChangeStarted(let target):
      guard target > leaving else { return }
      leaving = target
      gate.changing(to: target)
      out.append(.viewChangeStarted(view: target))
      for other in others { out.append(.pillar(other, .leaveView(target, checkpoint: stable))) }
    case .viewInstalled(let installedView, let leader):
      installed[pillar] = max(installed[pillar], installedView)
      let everyone = installed.min()!
      gate.advance(to: everyone)
      if everyone > view {
        view = everyone
        out.append(.viewInstalled(view: everyone, leader: leader))
      }
    case .readyToLead(let target):
      // ⑥–⑦ of §5.3.3: the NEW-VIEW parts go out once every pillar holds a
      // new-view certificate for the view this replica leads.
      readyToLead[pillar] = max(readyToLead[pillar], target)
      guard target == leaving, target > ledView, readyToLead.allSatisfy({ $0 == target }) else {
        return
      }
      ledView = target
      for every in 0..<configuration.pillarCount { out.append(.pillar(every, .lead(target))) }
    case .proposedThrough(let order):
      for other in others {
        let target = layout.fillTarget(afterLocal: order, of: pillar, for: other)
        guard target > fillSent[other] else { continue }
        fillSent[other] = target
        out.append(.pillar(other, .fillGaps(through: target)))
      }
    case .send, .broadcast, .armBatchTimer, .rejected:
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
    switch gate.admit(message, from: sender, pillar: pillar, isValid: isValid) {
    case .release(let parts):
      for part in parts {
        out.append(.pillar(part.pillar, .message(part.message, from: part.sender)))
      }
      return nil
    case .held: return nil
    case .invalid: return .invalidCertificate(message: "view-change part", sender: sender)
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
  /// merge resume after it.
  public mutating func stateTransferred(order: OrderNumber, into out: inout [Output]) {
    var ready: [(order: OrderNumber, view: View, batch: Batch)] = []
    merger.skip(through: order, into: &ready)
    for instance in ready {
      out.append(.deliver(order: instance.order, view: instance.view, batch: instance.batch))
    }
    let local = layout.localCheckpoint(ofGlobal: order)
    for pillar in 0..<configuration.pillarCount {
      out.append(.pillar(pillar, .stateTransferred(order: local)))
    }
  }
}
