import Foundation
import FuzzSupport
import HybsterCore
import HybsterWire
import NIOCore
import TrInX

/// Writes the seed corpus of both fuzz targets into the directory given as the only
/// argument: one file per message type, certified with the fuzzed group's keys by
/// replicas 1 and 2 so that the fuzzer starts from frames that pass verification,
/// and one file with a view change by both.
@main
struct FuzzCorpus {
  static func main() throws {
    let directory = CommandLine.arguments.dropFirst().first ?? "corpus"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let configuration = FuzzKeys.configuration
    var trinx: [ReplicaID: [TrInXInstance]] = [:]
    for replica: ReplicaID in [1, 2] {
      trinx[replica] = try (0..<2).map {
        try TrInXInstance(
          id: configuration.trinxInstance(of: replica, pillar: $0),
          counterCount: CounterLayout.count, key: FuzzKeys.group)
      }
    }
    let client = FuzzKeys.clients.credentials(0, mode: configuration.clientAuthentication)
    let request = client.request(lane: 0, sequence: 1, operation: [1, 2, 3])
    let batch = Batch(requests: [request])
    let prepare = Prepare(
      view: 0, order: 1, batch: batch,
      certificate: try trinx[1]![0].certifyIndependent(
        counter: CounterLayout.ordering, newValue: CounterValue(high: 0, low: 1),
        message: Prepare.certifiedDigest(view: 0, order: 1, batchDigest: batch.digest)))
    let commit = Commit(
      view: 0, order: 1, batchDigest: batch.digest, replica: 2,
      certificate: try trinx[2]![0].certifyIndependent(
        counter: CounterLayout.ordering, newValue: CounterValue(high: 0, low: 1),
        message: Commit.certifiedDigest(view: 0, order: 1, batchDigest: batch.digest)))
    let stateDigest = Digest(bytes: [UInt8](repeating: 9, count: 32))!
    let checkpoint = CheckpointMessage(
      order: 2, stateDigest: stateDigest, replica: 1,
      certificate: try trinx[1]![0].trustedMAC(
        counter: CounterLayout.checkpoint,
        message: CheckpointMessage.certifiedDigest(order: 2, stateDigest: stateDigest)))
    var viewChanges: [WireMessage] = []
    for replica: ReplicaID in [1, 2] {
      for pillar in 0..<2 {
        let digest = ViewChange.certifiedDigest(
          replica: replica, fromView: 0, toView: 1, checkpoint: nil, prepares: [])
        viewChanges.append(
          .protocolMessage(
            .viewChange(
              ViewChange(
                replica: replica, fromView: 0, toView: 1, checkpoint: nil, prepares: [],
                certificate: try trinx[replica]![pillar].certifyContinuing(
                  counter: CounterLayout.ordering, newValue: CounterValue(high: 1, low: 0),
                  message: digest)))))
      }
    }
    let files: [String: [WireMessage]] = [
      "request": [.request(request)],
      "prepare": [.protocolMessage(.prepare(prepare))],
      "commit": [.protocolMessage(.commit(commit))],
      "checkpoint": [.protocolMessage(.checkpoint(checkpoint))],
      "status": [.protocolMessage(.status(StatusMessage(replica: 1, view: 0, nextDelivery: 1)))],
      "forwarded": [.protocolMessage(.forwardedRequest(request))],
      "hello": [.hello(Hello(role: .client(5)))],
      "state-request": [.stateRequest(StateRequest(replica: 1, order: 4))],
      "view-change": viewChanges + [.request(request)],
      "ordering": [.request(request), .protocolMessage(.commit(commit))],
    ]
    for (name, messages) in files {
      var buffer = ByteBuffer()
      for message in messages { WireCodec.encode(message, into: &buffer) }
      try Data(buffer.readableBytesView).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
    }
    print("wrote \(files.count) seed inputs to \(directory)")
  }
}
