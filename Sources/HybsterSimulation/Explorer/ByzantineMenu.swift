import HybsterCore
import TrInX

/// The finite menu of the explorer's Byzantine replica (issue 10, item 3): every
/// message it can certify with its own TrInX instances from a small set of
/// choices, and every message it holds, sent to any correct replica.
///
/// - PREPAREs of views it leads (up to the view bound), for the order numbers of
///   one window above the highest checkpoint it can prove, with an empty batch,
///   each client request, or (optionally) an invented request (§5.2.1);
/// - COMMITs for every valid PREPARE it holds (§5.2.1);
/// - VIEW-CHANGEs for every later view up to the bound, with every `fromView` its
///   counter lets it claim, carrying none, its own, the seen, or all PREPAREs it
///   holds, with or without the highest checkpoint it can prove (§5.2.3): counter
///   jumps ("cleaning") included;
/// - NEW-VIEW-ACKs for every view, empty or with the PREPAREs of that view it holds;
/// - CHECKPOINTs with every state digest it saw for a checkpoint (§5.2.2);
/// - replays of any message it holds.
///
/// Certified messages go to one correct replica at once or are kept ("keep").
extension ExplorerAdversary {
  /// Every move, in a deterministic order. `delivered` tells whether a correct
  /// replica already received a message (fingerprint) in a pillar.
  func moves(
    bounds: ExplorerBounds, requests: Int, correct: [ReplicaID],
    delivered: (ReplicaID, Int, UInt64) -> Bool
  ) -> [ByzantineMove] {
    var moves: [ByzantineMove] = []
    let targets: [ReplicaID?] = correct.map { $0 } + [nil]
    let window = configuration.windowSize / UInt64(configuration.pillarCount)
    for u in 0..<configuration.pillarCount {
      let counter = counter(u)
      let stable = stableCheckpoint(pillar: u)
      let low = stable?.order ?? 0
      // PREPAREs.
      var batches: [ByzantineMove.BatchChoice] = [.empty] + (0..<requests).map { .request($0) }
      if bounds.inventedRequests { batches.append(.invented) }
      for view in counter.high...bounds.maxView
      where configuration.leader(of: view, pillar: u) == replica {
        for order in (low + 1)...(low + window)
        where CounterLayout.flattened(view: view, order: order) > counter {
          for batch in batches {
            for to in targets {
              moves.append(.prepare(pillar: u, view: view, order: order, batch: batch, to: to))
            }
          }
        }
      }
      // COMMITs.
      for prepare in prepares(pillar: u, own: false)
      where configuration.leader(of: prepare.view, pillar: u) != replica
        && CounterLayout.flattened(view: prepare.view, order: prepare.order) > counter
      {
        for to in targets {
          moves.append(.commit(pillar: u, view: prepare.view, order: prepare.order, to: to))
        }
      }
      // VIEW-CHANGEs.
      if counter.high < bounds.maxView {
        for toView in (counter.high + 1)...bounds.maxView {
          // What the receiver's check admits: a sender that sent order messages in
          // view c.high accepted it (or later); otherwise it claims at most c.high.
          let fromViews: ClosedRange<View> =
            counter.low > 0 ? counter.high...(toView - 1) : 0...min(counter.high, toView - 1)
          var seenLists: Set<[UInt64]> = []
          for checkpoint in stable == nil ? [false] : [false, true] {
            for choice in ByzantineMove.PrepareChoice.allCases {
              let list = viewChangePrepares(
                choice, pillar: u, toView: toView, low: checkpoint ? low : 0)
              let id = list.map { $0.view << 32 | $0.order } + [checkpoint ? 1 : 0]
              guard seenLists.insert(id).inserted else { continue }
              for fromView in fromViews {
                for to in targets {
                  moves.append(
                    .viewChange(
                      pillar: u, toView: toView, fromView: fromView, prepares: choice,
                      checkpoint: checkpoint, to: to))
                }
              }
            }
          }
        }
      }
      // NEW-VIEW-ACKs.
      if bounds.maxView >= 1 {
        for view in 1...bounds.maxView {
          let known = acknowledgedPrepares(pillar: u, view: view)
          for choice in known.isEmpty ? [.none] : [ByzantineMove.PrepareChoice.none, .all] {
            for to in correct {
              moves.append(.acknowledge(pillar: u, view: view, prepares: choice, to: to))
            }
          }
        }
      }
      // CHECKPOINTs.
      let orders = Set(checkpoints(pillar: u).map(\.order)).sorted()
      for order in orders {
        let digests = checkpointDigests(pillar: u, order: order)
        for index in digests.indices {
          for to in correct {
            moves.append(.checkpoint(pillar: u, order: order, digest: index, to: to))
          }
        }
      }
    }
    // Replays.
    var keys: Set<[UInt64]> = []
    for held in sortedHeld {
      guard held.key.kind != .status, held.key.kind != .forward else { continue }
      guard
        keys.insert([
          UInt64(held.pillar), UInt64(held.key.origin), held.key.view, held.key.number,
          UInt64(MessageKey.Kind.allCases.firstIndex(of: held.key.kind)!),
        ]).inserted
      else { continue }
      for to in correct where !delivered(to, held.pillar, held.fingerprint) {
        moves.append(.send(held.key, pillar: held.pillar, to: to))
      }
    }
    return moves
  }

  /// The PREPAREs a VIEW-CHANGE for `toView` carries under `choice`: per order
  /// number in the window above `low`, the one of the highest view below `toView`.
  func viewChangePrepares(
    _ choice: ByzantineMove.PrepareChoice, pillar: Int, toView: View, low: OrderNumber
  ) -> [Prepare] {
    let window = configuration.windowSize / UInt64(configuration.pillarCount)
    let candidates: [Prepare]
    switch choice {
    case .none: candidates = []
    case .own: candidates = prepares(pillar: pillar, own: true)
    case .seen: candidates = prepares(pillar: pillar, own: false)
    case .all:
      candidates = prepares(pillar: pillar, own: true) + prepares(pillar: pillar, own: false)
    }
    var chosen: [OrderNumber: Prepare] = [:]
    for prepare in candidates
    where prepare.view < toView && prepare.order > low && prepare.order <= low + window {
      if let known = chosen[prepare.order], known.view >= prepare.view { continue }
      chosen[prepare.order] = prepare
    }
    return chosen.keys.sorted().map { chosen[$0]! }
  }

  /// The PREPAREs of `view` it holds, one per order number, in order.
  func acknowledgedPrepares(pillar: Int, view: View) -> [Prepare] {
    let all = prepares(pillar: pillar, own: true) + prepares(pillar: pillar, own: false)
    var chosen: [OrderNumber: Prepare] = [:]
    for prepare in all where prepare.view == view { chosen[prepare.order] = prepare }
    return chosen.keys.sorted().map { chosen[$0]! }
  }

  /// Carries out `move`: certifies what it certifies and returns the message with
  /// its pillar and target; nil if the move is not possible (TrInX refuses, or the
  /// message it names is not held).
  mutating func perform(_ move: ByzantineMove, requests: [Request]) -> (
    message: ProtocolMessage, pillar: Int, to: ReplicaID?
  )? {
    let u = move.pillar
    guard u >= 0, u < configuration.pillarCount else { return nil }
    let message: ProtocolMessage
    switch move {
    case .prepare(_, let view, let order, let choice, _):
      guard configuration.leader(of: view, pillar: u) == replica else { return nil }
      let batch: Batch
      switch choice {
      case .empty: batch = .empty
      case .request(let i):
        guard requests.indices.contains(i) else { return nil }
        batch = Batch(requests: [requests[i]])
      case .invented: batch = Batch(requests: [Self.inventedRequest(imitating: requests)])
      }
      let digest = Prepare.certifiedDigest(view: view, order: order, batchDigest: batch.digest)
      guard
        let certificate = try? trinx[u].certifyIndependent(
          counter: CounterLayout.ordering,
          newValue: CounterLayout.flattened(view: view, order: order), message: digest)
      else { return nil }
      message = .prepare(Prepare(view: view, order: order, batch: batch, certificate: certificate))
    case .commit(_, let view, let order, _):
      guard
        let prepare = prepares(pillar: u, own: false).first(where: {
          $0.view == view && $0.order == order
        })
      else { return nil }
      let batchDigest = prepare.batch.digest
      guard
        let certificate = try? trinx[u].certifyIndependent(
          counter: CounterLayout.ordering,
          newValue: CounterLayout.flattened(view: view, order: order),
          message: Commit.certifiedDigest(view: view, order: order, batchDigest: batchDigest))
      else { return nil }
      message = .commit(
        Commit(
          view: view, order: order, batchDigest: batchDigest, replica: replica,
          certificate: certificate))
    case .viewChange(_, let toView, let fromView, let choice, let withCheckpoint, _):
      let checkpoint = withCheckpoint ? stableCheckpoint(pillar: u) : nil
      if withCheckpoint, checkpoint == nil { return nil }
      let prepares = viewChangePrepares(
        choice, pillar: u, toView: toView, low: checkpoint?.order ?? 0)
      let digest = ViewChange.certifiedDigest(
        replica: replica, fromView: fromView, toView: toView, checkpoint: checkpoint,
        prepares: prepares)
      guard counter(u) < CounterLayout.flattened(view: toView, order: 0),
        let certificate = try? trinx[u].certifyContinuing(
          counter: CounterLayout.ordering,
          newValue: CounterLayout.flattened(view: toView, order: 0), message: digest)
      else { return nil }
      message = .viewChange(
        ViewChange(
          replica: replica, fromView: fromView, toView: toView, checkpoint: checkpoint,
          prepares: prepares, certificate: certificate))
    case .acknowledge(_, let view, let choice, _):
      let prepares = choice == .none ? [] : acknowledgedPrepares(pillar: u, view: view)
      guard
        let certificate = try? trinx[u].trustedMAC(
          counter: CounterLayout.checkpoint,
          message: NewViewAck.certifiedDigest(replica: replica, view: view, prepares: prepares))
      else { return nil }
      message = .newViewAck(
        NewViewAck(replica: replica, view: view, prepares: prepares, certificate: certificate))
    case .checkpoint(_, let order, let index, _):
      let digests = checkpointDigests(pillar: u, order: order)
      guard digests.indices.contains(index),
        let certificate = try? trinx[u].trustedMAC(
          counter: CounterLayout.checkpoint,
          message: CheckpointMessage.certifiedDigest(order: order, stateDigest: digests[index]))
      else { return nil }
      message = .checkpoint(
        CheckpointMessage(
          order: order, stateDigest: digests[index], replica: replica, certificate: certificate))
    case .send(let key, _, let to):
      guard let held = sortedHeld.first(where: { $0.pillar == u && $0.key == key }) else {
        return nil
      }
      return (held.message, u, to)
    }
    hold(message, pillar: u, sender: replica, own: true)
    return (message, u, move.target)
  }

  /// A request no client sent, as realistic as the adversary can make it: the
  /// client's id and the lane of its first request with the next sequence number
  /// (executed, it would take the client's next request's place), carrying that
  /// request's signature and authenticator, valid over another payload. Without a
  /// client request to imitate, its tags and signature are garbage.
  static func inventedRequest(imitating requests: [Request]) -> Request {
    guard var request = requests.first else {
      return Request(
        client: 0, lane: 0, sequence: 1, operation: [0xBA, 0xD0],
        // Force-unwrap: 32 bytes.
        authenticator: Array(
          repeating: TrInXMAC(bytes: [UInt8](repeating: 0, count: 32))!, count: 3),
        signature: RequestSignature(
          signature: [UInt8](repeating: 0, count: RequestSignature.signatureByteCount),
          index: 0, path: []))
    }
    request.sequence += 1
    request.operation = [0xBA, 0xD0]
    return request
  }
}

extension ByzantineMove {
  /// The correct replica the message goes to (nil: kept).
  var target: ReplicaID? {
    switch self {
    case .prepare(_, _, _, _, let to), .commit(_, _, _, let to),
      .viewChange(_, _, _, _, _, let to):
      to
    case .acknowledge(_, _, _, let to), .checkpoint(_, _, _, let to), .send(_, _, let to): to
    }
  }

  /// Whether the move certifies something (replays do not).
  var certifies: Bool {
    if case .send = self { return false }
    return true
  }
}
