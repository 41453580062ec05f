import TrInX

/// The state a pillar's journal describes (issue 12): the records of
/// ``PillarRecord`` folded in order. Pure; the shells feed it what their disk
/// returned and build the restarted pillar with
/// ``OrderingPillar/init(recovering:configuration:replica:pillar:trinx:clients:executedThrough:)``.
///
/// A torn last turn leaves a prefix of its records: the messages of that turn never
/// left the replica (persist before send), so recovery keeps none of this replica's
/// own certified messages above the last journaled counter value.
public struct PillarRecovery: Sendable, Hashable {
  /// The ordering counter's last released value.
  public private(set) var counter: CounterValue = .zero
  /// The view the pillar was in.
  public private(set) var view: View = 0
  /// The view last accepted with a valid NEW-VIEW or led (0 initially).
  public private(set) var acceptedView: View = 0
  /// The highest view vouched for (docs/view-change-safety.md, R2).
  public private(set) var vouchedView: View = 0
  /// The last stable checkpoint.
  public private(set) var stable: StableCheckpoint?
  /// Per order number above the checkpoint, the PREPARE of the highest view held.
  public private(set) var prepares: [OrderNumber: Prepare] = [:]
  /// This replica's own COMMITs above the checkpoint, the latest view's per order.
  public private(set) var commits: [OrderNumber: Commit] = [:]
  /// Other replicas' COMMITs that counted for delivered instances above the
  /// checkpoint, of the latest view's PREPARE per order.
  public private(set) var votes: [OrderNumber: [Commit]] = [:]
  /// This replica's VIEW-CHANGEs of its latest few views, by view.
  public private(set) var viewChanges: [View: ViewChange] = [:]
  /// How many of its own VIEW-CHANGEs a journal keeps: the target and the views
  /// before it the pillar may have skipped (see ``ViewChangeState``).
  static let viewChangesKept = Int(ViewChangeGate.viewsAhead) + 1
  /// The NEW-VIEW of the latest view installed.
  public private(set) var installed: NewView?

  /// An empty journal: a replica that never ran.
  public init() {}

  /// Folds `records` in order.
  public init(records: some Sequence<PillarRecord>) {
    for record in records { apply(record) }
  }

  /// A journal of nothing but a counter value: what a pillar whose damaged journal
  /// was set aside restarts from (its reservation).
  public init(counterOnly counter: CounterValue) {
    self.init(records: [.counter(counter)])
  }

  /// Whether the journal held anything.
  public var isEmpty: Bool { self == PillarRecovery() }

  /// The checkpoint's order number (0 without one).
  public var lowWaterMark: OrderNumber { stable?.order ?? 0 }

  /// Folds one record.
  public mutating func apply(_ record: PillarRecord) {
    switch record {
    case .prepare(let prepare):
      guard prepare.order > lowWaterMark else { return }
      if let known = prepares[prepare.order], known.view >= prepare.view { return }
      prepares[prepare.order] = prepare
    case .commit(let commit):
      guard commit.order > lowWaterMark else { return }
      if let known = commits[commit.order], known.view >= commit.view { return }
      commits[commit.order] = commit
    case .vote(let commit):
      guard commit.order > lowWaterMark else { return }
      var held = votes[commit.order, default: []].filter { $0.view >= commit.view }
      guard !held.contains(where: { $0.view > commit.view || $0.replica == commit.replica })
      else { return }
      held.append(commit)
      votes[commit.order] = held
    case .viewChange(let message):
      viewChanges[message.toView] = message
      if viewChanges.count > Self.viewChangesKept {
        viewChanges.removeValue(forKey: viewChanges.keys.min()!)
      }
    case .installed(let newView):
      if let known = installed, known.view > newView.view { return }
      installed = newView
    case .views(let entered, let accepted, let vouched):
      view = max(view, entered)
      acceptedView = max(acceptedView, accepted)
      vouchedView = max(vouchedView, vouched)
    case .stable(let checkpoint):
      guard checkpoint.order > lowWaterMark else { return }
      stable = checkpoint
      prepares = prepares.filter { $0.key > checkpoint.order }
      commits = commits.filter { $0.key > checkpoint.order }
      votes = votes.filter { $0.key > checkpoint.order }
    case .counter(let value):
      counter = max(counter, value)
    }
  }

  /// The records that describe this state on their own: the base of a new journal
  /// segment after a stable checkpoint (older records are then obsolete).
  public var baseRecords: [PillarRecord] {
    var records: [PillarRecord] = [
      .counter(counter), .views(entered: view, accepted: acceptedView, vouched: vouchedView),
    ]
    if let stable { records.append(.stable(stable)) }
    records += prepares.keys.sorted().map { .prepare(prepares[$0]!) }
    records += commits.keys.sorted().map { .commit(commits[$0]!) }
    records += votes.keys.sorted().flatMap { votes[$0]!.map(PillarRecord.vote) }
    records += viewChanges.keys.sorted().map { .viewChange(viewChanges[$0]!) }
    if let installed { records.append(.installed(installed)) }
    return records
  }
}
