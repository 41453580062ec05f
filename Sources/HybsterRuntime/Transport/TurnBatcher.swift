import NIOCore

/// Runs a callback once at the end of the current event-loop turn, however many
/// times it is requested during the turn. Used to flush each connection once per
/// turn (coalescing writes) and to hand work to another thread in batches: a wake-up
/// of another thread costs far more than the work for one message.
final class TurnBatcher {
  private let eventLoop: any EventLoop
  private let body: () -> Void
  private var scheduled = false

  init(eventLoop: any EventLoop, body: @escaping () -> Void) {
    self.eventLoop = eventLoop
    self.body = body
  }

  /// Requests the callback at the end of this turn. Must be called on the loop.
  func request() {
    guard !scheduled else { return }
    scheduled = true
    // Tasks enqueued with `execute` run after the I/O of the current turn.
    let box = UnsafeTransfer(self)
    eventLoop.execute {
      box.value.scheduled = false
      box.value.body()
    }
  }
}

/// Moves a value that is confined to one event loop through a `@Sendable` closure
/// that runs on that same loop (shared with the client library).
package struct UnsafeTransfer<Value>: @unchecked Sendable {
  package let value: Value
  package init(_ value: Value) { self.value = value }
}
