/// The execution stage's merge of its pillars' deliveries into the global order
/// (§5.3.1): each pillar delivers its own instances in local order; the merger
/// hands them on in order of global o, holding back what arrives early.
///
/// Bounded: a pillar never delivers beyond its window, so at most W instances wait.
public struct DeliveryMerger: Sendable {
  /// How order numbers map onto pillars.
  public let layout: PillarLayout
  /// The next global order number to hand on.
  public private(set) var next: OrderNumber = 1
  private var waiting: [OrderNumber: (view: View, batch: Batch)] = [:]

  /// A merger for `layout`.
  public init(layout: PillarLayout) {
    self.layout = layout
  }

  /// The number of instances delivered early and held back.
  public var waitingCount: Int { waiting.count }

  /// Takes pillar `pillar`'s delivery of local `order` and appends every instance
  /// that is now next in global order to `ready`.
  public mutating func add(
    pillar: Int, local order: OrderNumber, view: View, batch: Batch,
    into ready: inout [(order: OrderNumber, view: View, batch: Batch)]
  ) {
    let global = layout.global(local: order, pillar: pillar)
    guard global >= next else { return }
    guard global == next else {
      waiting[global] = (view, batch)
      return
    }
    ready.append((global, view, batch))
    next += 1
    release(into: &ready)
  }

  /// State transfer installed the checkpoint at global `order`: delivery resumes
  /// after it, everything at or below it is dropped, and what a pillar that was
  /// ahead delivered meanwhile is handed on.
  public mutating func skip(
    through order: OrderNumber,
    into ready: inout [(order: OrderNumber, view: View, batch: Batch)]
  ) {
    guard order >= next else { return }
    next = order + 1
    waiting = waiting.filter { $0.key > order }
    release(into: &ready)
  }

  private mutating func release(into ready: inout [(order: OrderNumber, view: View, batch: Batch)])
  {
    while let early = waiting.removeValue(forKey: next) {
      ready.append((next, early.view, early.batch))
      next += 1
    }
  }
}
