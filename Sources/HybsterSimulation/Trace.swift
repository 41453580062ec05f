import HybsterCore

/// One recorded event; formatted only when a violation is reported.
enum TraceEvent: Sendable {
  case message(to: ReplicaID, from: ReplicaID, ProtocolMessage, pillar: Int)
  case request(to: ReplicaID, client: ClientID, lane: UInt32, sequence: UInt64)
  case reply(client: ClientID, lane: UInt32, sequence: UInt64, from: ReplicaID)
  case clientSend(client: Int, lane: Int, sequence: UInt64, attempt: Int)
  case accepted(client: Int, lane: Int, sequence: UInt64)
  case tick(ReplicaID)
  case batchTimeout(ReplicaID)
  case checkpointTaken(ReplicaID, OrderNumber)
  case deliver(ReplicaID, order: OrderNumber, requests: Int)
  case stable(ReplicaID, OrderNumber)
  case stateTransferNeeded(ReplicaID, OrderNumber)
  case stateTransferred(ReplicaID, OrderNumber)
  case viewChangeStarted(ReplicaID, View)
  case viewInstalled(ReplicaID, View)
  case crash(ReplicaID)
  case restart(ReplicaID)
  case partition(Int, start: Bool)
  case heal
  case livenessCheck

  /// Numbers that identify the event for the determinism hash.
  var fingerprint: (UInt64, UInt64, UInt64, UInt64) {
    switch self {
    case .message(let to, let from, let m, let pillar):
      let (kind, view, order, aux) = Self.summary(m)
      return (
        UInt64(pillar) << 40 | 1 << 32 | UInt64(kind) << 16 | UInt64(to) << 8 | UInt64(from), view,
        order, aux
      )
    case .request(let to, let c, let l, let s):
      return (2, UInt64(to), UInt64(c) << 32 | UInt64(l), s)
    case .reply(let c, let l, let s, let r): return (3, UInt64(r), UInt64(c) << 32 | UInt64(l), s)
    case .clientSend(let c, let l, let s, let a):
      return (4, UInt64(a), UInt64(c) << 32 | UInt64(l), s)
    case .accepted(let c, let l, let s): return (5, 0, UInt64(c) << 32 | UInt64(l), s)
    case .tick(let r): return (6, UInt64(r), 0, 0)
    case .batchTimeout(let r): return (7, UInt64(r), 0, 0)
    case .checkpointTaken(let r, let o): return (8, UInt64(r), o, 0)
    case .deliver(let r, let o, let n): return (9, UInt64(r), o, UInt64(n))
    case .stable(let r, let o): return (10, UInt64(r), o, 0)
    case .stateTransferNeeded(let r, let o): return (11, UInt64(r), o, 0)
    case .crash(let r): return (12, UInt64(r), 0, 0)
    case .restart(let r): return (13, UInt64(r), 0, 0)
    case .partition(let i, let s): return (14, UInt64(i), s ? 1 : 0, 0)
    case .heal: return (15, 0, 0, 0)
    case .livenessCheck: return (16, 0, 0, 0)
    case .viewChangeStarted(let r, let v): return (17, UInt64(r), v, 0)
    case .stateTransferred(let r, let o): return (19, UInt64(r), o, 0)
    case .viewInstalled(let r, let v): return (18, UInt64(r), v, 0)
    }
  }

  static func summary(_ m: ProtocolMessage) -> (UInt8, UInt64, UInt64, UInt64) {
    switch m {
    case .prepare(let p): (1, p.view, p.order, UInt64(p.batch.requests.count))
    case .commit(let c): (2, c.view, c.order, UInt64(c.replica))
    case .checkpoint(let c): (3, 0, c.order, UInt64(c.replica))
    case .forwardedRequest(let r): (4, UInt64(r.client), r.sequence, UInt64(r.lane))
    case .status(let s): (5, s.view, s.nextDelivery, UInt64(s.replica))
    case .viewChange(let v): (6, v.toView, UInt64(v.prepares.count), UInt64(v.replica))
    case .newView(let v): (7, v.view, UInt64(v.prepares.count), UInt64(v.viewChanges.count))
    case .newViewAck(let a): (8, a.view, UInt64(a.prepares.count), UInt64(a.replica))
    }
  }

  var text: String {
    switch self {
    case .message(let to, let from, let m, let pillar):
      let body: String
      switch m {
      case .prepare(let p):
        body =
          "PREPARE v\(p.view) o\(p.order) \(p.batch.requests.count) req batch \(p.batch.digest)"
          + " cert[\(p.certificate.issuer) c\(p.certificate.counter) \(p.certificate.newValue)]"
      case .commit(let c):
        body = "COMMIT v\(c.view) o\(c.order) by \(c.replica) batch \(c.batchDigest)"
      case .checkpoint(let c):
        body = "CHECKPOINT o\(c.order) by \(c.replica) digest \(c.stateDigest)"
      case .forwardedRequest(let r):
        body = "FORWARD \(r.client)/\(r.lane)#\(r.sequence)"
      case .status(let s): body = "STATUS by \(s.replica) v\(s.view) next \(s.nextDelivery)"
      case .viewChange(let v):
        body =
          "VIEW-CHANGE by \(v.replica) \(v.fromView)->\(v.toView) cp \(v.checkpointOrder)"
          + " prepares \(v.prepares.map(\.order)) prev \(v.certificate.previousValue.map { "\($0)" } ?? "-")"
      case .newView(let v):
        body =
          "NEW-VIEW v\(v.view) from \(v.viewChanges.map(\.replica)) acks \(v.acknowledgments.map(\.replica))"
          + " prepares \(v.prepares.map(\.order))"
      case .newViewAck(let a): body = "NEW-VIEW-ACK by \(a.replica) v\(a.view)"
      }
      return "r\(to) <- r\(from)\(pillar > 0 ? " u\(pillar)" : "") \(body)"
    case .request(let to, let c, let l, let s): return "r\(to) <- client \(c)/\(l)#\(s) REQUEST"
    case .reply(let c, let l, let s, let r): return "client \(c)/\(l)#\(s) <- r\(r) REPLY"
    case .clientSend(let c, let l, let s, let a):
      return "client \(c)/\(l)#\(s) sends" + (a == 0 ? " to leader" : " to all (retry \(a))")
    case .accepted(let c, let l, let s): return "client \(c)/\(l)#\(s) ACCEPTS"
    case .tick(let r): return "r\(r) tick"
    case .batchTimeout(let r): return "r\(r) batch timeout"
    case .checkpointTaken(let r, let o): return "r\(r) checkpoint taken at \(o)"
    case .deliver(let r, let o, let n): return "r\(r) DELIVERS o\(o) (\(n) requests)"
    case .stable(let r, let o): return "r\(r) checkpoint \(o) stable"
    case .stateTransferNeeded(let r, let o): return "r\(r) needs state transfer to \(o)"
    case .viewChangeStarted(let r, let v): return "r\(r) starts VIEW CHANGE to \(v)"
    case .stateTransferred(let r, let o): return "r\(r) installs checkpoint \(o) by state transfer"
    case .viewInstalled(let r, let v): return "r\(r) installs view \(v)"
    case .crash(let r): return "r\(r) CRASHES"
    case .restart(let r): return "r\(r) RESTARTS"
    case .partition(let i, let s): return "partition \(i) " + (s ? "starts" : "ends")
    case .heal: return "network heals, liveness phase begins"
    case .livenessCheck: return "liveness check"
    }
  }
}

/// The last events of a run and a hash over all of them (same seed, same hash).
struct TraceRecorder: Sendable {
  private var ring: [(SimTime, TraceEvent)] = []
  private var next = 0
  let capacity: Int
  /// FNV-1a over every event's time and fingerprint.
  private(set) var hash: UInt64 = 0xCBF2_9CE4_8422_2325

  init(capacity: Int) {
    self.capacity = max(1, capacity)
    ring.reserveCapacity(self.capacity)
  }

  mutating func record(_ time: SimTime, _ event: TraceEvent) {
    let (a, b, c, d) = event.fingerprint
    for word in [time, a, b, c, d] {
      hash = (hash ^ word) &* 0x0000_0100_0000_01B3
    }
    if ring.count < capacity {
      ring.append((time, event))
    } else {
      ring[next] = (time, event)
    }
    next = (next + 1) % capacity
  }

  /// The recorded events, oldest first.
  var lines: [String] {
    let ordered = ring.count < capacity ? ring : Array(ring[next...] + ring[..<next])
    return ordered.map { time, event in
      "t=\(time / 1000).\(String(time % 1000 + 1000).dropFirst())ms \(event.text)"
    }
  }
}
