import HybsterCore
import HybsterWire
import Logging
import NIOCore

/// Hands work to the execution stage from another thread.
protocol ExecutionDriverHandle: AnyObject {
  /// Enqueues `work`; safe to call from any thread. One call is one thread hand-off.
  func submit(_ work: [ExecutionWork])
}

/// The runtime shell around the ``HybsterCore/ExecutionStage`` (§5.2, §5.3: the
/// execution stage delivers in global order on its own thread). Confined to its own
/// event loop, which also owns every client connection: replies are written without
/// changing threads, and retransmitted requests are answered from the reply cache
/// before they reach the ordering pillar.
final class ExecutionDriver<Service: ReplicatedService>: ExecutionDriverHandle, @unchecked Sendable
{
  let eventLoop: any EventLoop
  private var stage: ExecutionStage<Service>
  private let ordering: OrderingDriver
  private let logger: Logger
  private var clients: [ClientID: any Channel] = [:]
  private var dirtyClients: [any Channel] = []
  private var replies: [Reply] = []
  private var requestsForOrdering: [Request] = []
  private var lastView: View = 0
  private var flushBatcher: TurnBatcher!
  private var requestBatcher: TurnBatcher!

  init(
    stage: ExecutionStage<Service>, eventLoop: any EventLoop, ordering: OrderingDriver,
    logger: Logger
  ) {
    self.stage = stage
    self.eventLoop = eventLoop
    self.ordering = ordering
    self.logger = logger
    let box = UnsafeTransfer(self)
    flushBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.flushClients() }
    requestBatcher = TurnBatcher(eventLoop: eventLoop) { box.value.forwardRequests() }
  }

  func submit(_ work: [ExecutionWork]) {
    let box = UnsafeTransfer(self)
    eventLoop.execute { box.value.process(work) }
  }

  private func process(_ work: [ExecutionWork]) {
    var checkpoints: [(OrderNumber, Digest)] = []
    for item in work {
      switch item {
      case .deliver(let order, let view, let batch):
        lastView = view
        replies.removeAll(keepingCapacity: true)
        if let snapshot = stage.execute(order: order, view: view, batch: batch, replies: &replies) {
          checkpoints.append((snapshot.order, snapshot.digest))
        }
        for reply in replies { send(reply) }
      case .checkpointStable(let order):
        stage.checkpointStable(at: order)
      }
    }
    guard !checkpoints.isEmpty else { return }
    let taken = checkpoints
    let ordering = UnsafeTransfer(self.ordering)
    ordering.value.eventLoop.execute {
      for (order, digest) in taken {
        ordering.value.handle(.checkpointTaken(order: order, stateDigest: digest))
      }
    }
  }

  /// A client connection said hello.
  func register(client: ClientID, channel: any Channel) {
    clients[client] = channel
  }

  /// A client connection closed.
  func unregister(client: ClientID, channel: any Channel) {
    if clients[client] === channel { clients[client] = nil }
  }

  /// A request from a client connection.
  func receive(_ request: Request) {
    let cached = stage.cachedReply(for: request, view: lastView)
    if let reply = cached.reply {
      send(reply)
      return
    }
    if cached.stale { return }
    requestsForOrdering.append(request)
    requestBatcher.request()
  }

  private func forwardRequests() {
    let requests = requestsForOrdering
    requestsForOrdering.removeAll(keepingCapacity: true)
    let ordering = UnsafeTransfer(self.ordering)
    ordering.value.eventLoop.execute {
      for request in requests { ordering.value.handle(.request(request)) }
    }
  }

  private func send(_ reply: Reply) {
    guard let channel = clients[reply.client], channel.isWritable else { return }
    var buffer = channel.allocator.buffer(capacity: WireCodec.frameLength(of: .reply(reply)))
    WireCodec.encode(.reply(reply), into: &buffer)
    channel.write(buffer, promise: nil)
    dirtyClients.append(channel)
    flushBatcher.request()
  }

  private func flushClients() {
    for channel in dirtyClients { channel.flush() }
    dirtyClients.removeAll(keepingCapacity: true)
  }
}
