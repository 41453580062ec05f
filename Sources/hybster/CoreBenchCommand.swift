import ArgumentParser
import Foundation
import HybsterCore
import HybsterServices
import TrInX

/// `hybster core-bench`: drives n replicas' pure cores (ordering pillar + execution
/// stage) in one thread with no network, to measure the protocol's own CPU cost per
/// request (certificates, digests, client authentication, execution, replies).
struct CoreBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "core-bench",
    abstract: "Measure the pure protocol core's CPU cost per request (no network).")

  @Option(help: "Replicas (n = 2f+1).") var replicas = 3
  @Option(help: "Requests per batch (1 = batching off).") var batch = 64
  @Option(help: "Requests to order.") var requests = 200_000
  @Option(help: "Request and reply payload bytes.") var payload = 0
  @Option(help: "signatures or macs (issue 13).") var clientAuth: ClientAuthMode = .signatures
  @Option(help: "Requests a client signs together (one signature per group).")
  var signedTogether = 64
  @Flag(help: "Print one JSON object on the last line.") var json = false

  func run() throws {
    let parameters = ProtocolConfiguration(
      replicaCount: replicas, checkpointInterval: 128, windowSize: 512, maxBatchSize: batch,
      maxInFlight: 4, clientAuthentication: clientAuth)
    try parameters.validate()
    let groupKey = [UInt8](repeating: 7, count: 32)
    let keys = InProcessKeys(replicas: replicas, clients: 1)
    var pillars = try (0..<replicas).map { r in
      OrderingPillar(
        configuration: parameters, replica: ReplicaID(r),
        trinx: try TrInXInstance(
          id: parameters.trinxInstances[r], counterCount: CounterLayout.count, key: groupKey),
        clients: keys.authenticator(ReplicaID(r), mode: parameters.clientAuthentication))
    }
    var stages = (0..<replicas).map { r in
      ExecutionStage(
        service: MicrobenchmarkService(replySize: payload), replica: ReplicaID(r),
        checkpointInterval: parameters.checkpointInterval,
        keyring: keys.keyring(ReplicaID(r)))
    }
    let credentials = keys.credentials(0, mode: parameters.clientAuthentication)
    let operation = [UInt8](repeating: 0, count: payload)
    // Pre-build requests so that only replica work is measured.
    let prepared = stride(from: 0, to: requests, by: max(1, signedTogether)).flatMap { first in
      credentials.requests(
        (first..<min(requests, first + max(1, signedTogether))).map {
          (UInt32($0 % 1024), UInt64($0 / 1024 + 1), operation)
        })
    }

    var queue: [(to: Int, input: PillarInput)] = []
    var head = 0
    var actions: [PillarAction] = []
    var replies: [Reply] = []
    var replyCount = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var next = 0
    while replyCount < requests * replicas {
      if head == queue.count {
        queue.removeAll(keepingCapacity: true)
        head = 0
        guard next < prepared.count else { break }
        let end = min(next + batch * 4, prepared.count)
        for request in prepared[next..<end] { queue.append((0, .request(request))) }
        next = end
      }
      let (to, input) = queue[head]
      head += 1
      actions.removeAll(keepingCapacity: true)
      pillars[to].handle(input, into: &actions)
      for action in actions {
        switch action {
        case .broadcast(let message):
          for peer in 0..<replicas where peer != to {
            queue.append((peer, .message(message, from: ReplicaID(to))))
          }
        case .send(let message, let peer):
          queue.append((Int(peer), .message(message, from: ReplicaID(to))))
        case .deliver(let order, let view, let batch):
          replies.removeAll(keepingCapacity: true)
          if let snapshot = stages[to].execute(
            order: order, view: view, batch: batch, replies: &replies)
          {
            queue.append((to, .checkpointTaken(order: order, stateDigest: snapshot.digest)))
          }
          replyCount += replies.count
        case .checkpointStable(let stable):
          stages[to].checkpointStable(at: stable.order)
        case .armBatchTimer:
          queue.append((to, .batchTimeout))
        case .viewChangeStarted, .viewInstalled, .proposedThrough, .readyToLead, .newViewPart,
          .persist:
          break
        case .stateTransferNeeded, .rejected:
          throw ValidationError("core-bench: unexpected \(action)")
        }
      }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let throughput = Double(requests) / seconds
    print(
      "core-bench: n=\(replicas) batch=\(batch) payload=\(payload) client-auth=\(clientAuth.rawValue)"
        + " (\(signedTogether) signed together): \(requests) requests in "
        + String(
          format: "%.2f s = %.0f requests/s for all %d replicas on one core", seconds, throughput,
          replicas)
    )
    if json {
      print(
        #"{"requests":\#(requests),"replicas":\#(replicas),"batch":\#(batch),"payload":\#(payload),"client_auth":"\#(clientAuth.rawValue)","signed_together":\#(signedTogether),"seconds":\#(seconds),"requests_per_s":\#(throughput)}"#
      )
    }
  }
}
