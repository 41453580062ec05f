import HybsterCore
import TrInX

/// Everything valid one pillar of the adversary has seen (DESIGN.md: "any valid
/// message of another replica they have seen, replayed or recombined"): PREPAREs,
/// COMMITs, VIEW-CHANGEs, NEW-VIEWs, NEW-VIEW-ACKs, CHECKPOINTs and stable
/// checkpoints, client requests and batches. Only messages that pass the checks a
/// correct pillar makes are kept, and every collection is bounded.
struct AdversaryKnowledge: Sendable {
  struct PrepareKey: Hashable, Sendable, Comparable {
    var view: View
    var order: OrderNumber
    static func < (a: Self, b: Self) -> Bool { (a.order, a.view) < (b.order, b.view) }
  }

  struct CommitKey: Hashable, Sendable {
    var view: View
    var order: OrderNumber
    var replica: ReplicaID
  }

  /// Valid PREPAREs by (view, order): its own and others'.
  var prepares: [PrepareKey: Prepare] = [:]
  /// The keys of PREPAREs it certified itself.
  var own: Set<PrepareKey> = []
  /// Valid COMMITs.
  var commits: [CommitKey: Commit] = [:]
  /// Valid VIEW-CHANGEs by target view and sender (its own among them).
  var viewChanges: [View: [ReplicaID: ViewChange]] = [:]
  /// Valid NEW-VIEWs (parts) by view.
  var newViews: [View: NewView] = [:]
  /// Valid NEW-VIEW-ACKs by view and sender.
  var acks: [View: [ReplicaID: NewViewAck]] = [:]
  /// Valid CHECKPOINTs by order and sender (the first digest each sent).
  var checkpoints: [OrderNumber: [ReplicaID: CheckpointMessage]] = [:]
  /// Stable checkpoints (f+1 proofs) seen anywhere.
  var stable: [OrderNumber: StableCheckpoint] = [:]
  /// Client requests seen (authentic: they came from clients or in PREPAREs).
  var requests: [Request] = []
  /// Distinct batches seen in PREPAREs.
  var batches: [Batch] = []

  static let prepareLimit = 512
  static let commitLimit = 256
  static let viewsKept = 8
  static let checkpointsKept = 8
  static let requestLimit = 64
  static let batchLimit = 16

  mutating func add(_ prepare: Prepare, own isOwn: Bool = false) {
    let key = PrepareKey(view: prepare.view, order: prepare.order)
    if isOwn { own.insert(key) }
    guard prepares[key] == nil else { return }
    prepares[key] = prepare
    if prepares.count > Self.prepareLimit, let lowest = prepares.keys.min() {
      prepares[lowest] = nil
      own.remove(lowest)
    }
    if !prepare.batch.requests.isEmpty, !batches.contains(prepare.batch) {
      batches.append(prepare.batch)
      if batches.count > Self.batchLimit { batches.removeFirst() }
    }
    for request in prepare.batch.requests { add(request) }
  }

  mutating func add(_ request: Request) {
    guard !requests.contains(request) else { return }
    requests.append(request)
    if requests.count > Self.requestLimit { requests.removeFirst() }
  }

  mutating func add(_ commit: Commit) {
    commits[CommitKey(view: commit.view, order: commit.order, replica: commit.replica)] = commit
    if commits.count > Self.commitLimit,
      let lowest = commits.keys.min(by: {
        ($0.order, $0.view, $0.replica) < ($1.order, $1.view, $1.replica)
      })
    {
      commits[lowest] = nil
    }
  }

  mutating func add(_ viewChange: ViewChange) {
    viewChanges[viewChange.toView, default: [:]][viewChange.replica] = viewChange
    Self.trim(&viewChanges)
    for prepare in viewChange.prepares { add(prepare) }
    if let checkpoint = viewChange.checkpoint { add(checkpoint) }
  }

  mutating func add(_ newView: NewView) {
    newViews[newView.view] = newView
    Self.trim(&newViews)
    for viewChange in newView.viewChanges { add(viewChange) }
    for ack in newView.acknowledgments { add(ack) }
    for prepare in newView.prepares { add(prepare) }
  }

  mutating func add(_ ack: NewViewAck) {
    acks[ack.view, default: [:]][ack.replica] = ack
    Self.trim(&acks)
    for prepare in ack.prepares { add(prepare) }
  }

  mutating func add(_ checkpoint: CheckpointMessage) {
    guard checkpoints[checkpoint.order]?[checkpoint.replica] == nil else { return }
    checkpoints[checkpoint.order, default: [:]][checkpoint.replica] = checkpoint
    while checkpoints.count > Self.checkpointsKept, let lowest = checkpoints.keys.min() {
      checkpoints[lowest] = nil
    }
  }

  mutating func add(_ checkpoint: StableCheckpoint) {
    stable[checkpoint.order] = checkpoint
    while stable.count > Self.checkpointsKept, let lowest = stable.keys.min() {
      stable[lowest] = nil
    }
  }

  /// Keeps the highest ``viewsKept`` views.
  static func trim<T>(_ byView: inout [View: T]) {
    while byView.count > viewsKept, let lowest = byView.keys.min() { byView[lowest] = nil }
  }

  /// Known PREPAREs at `order`, lowest view first.
  func prepares(at order: OrderNumber) -> [Prepare] {
    prepares.values.filter { $0.order == order }.sorted { $0.view < $1.view }
  }
}
