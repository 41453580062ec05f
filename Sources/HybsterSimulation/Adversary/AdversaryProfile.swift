import HybsterCore

/// What one seed's adversary favours (drawn from its own stream): how often it acts,
/// which moves it prefers, and which of its real pillars' messages it withholds from
/// whom. Different seeds thus explore different corners of the same menu.
struct AdversaryProfile: Sendable {
  /// The moves of ``AdaptiveAdversary``.
  enum Move: Int, CaseIterable, Sendable {
    /// A certified PREPARE of a view it leads (established or not) at any order of
    /// the window, with a batch it picks (§5.2.1).
    case futurePrepare
    /// Moves its ordering counter forward to [v|0] with a discarded continuing
    /// certificate ("cleaning", §5.2.3).
    case clean
    /// A VIEW-CHANGE for any target, any fromView, any seen stable checkpoint and any
    /// mix of its own and seen PREPAREs (§5.2.3).
    case viewChange
    /// A NEW-VIEW (part) built from seen VIEW-CHANGEs and NEW-VIEW-ACKs (§5.2.3,
    /// §5.3.3), also for views it does not lead when no PREPARE needs certifying.
    case newView
    /// A NEW-VIEW-ACK for any view with seen or own PREPAREs of that view (§5.2.3).
    case acknowledge
    /// A seen valid message, replayed to replicas it picks.
    case replay
    /// A COMMIT for a seen PREPARE (or for another batch) of any view (§5.2.1).
    case commit
    /// A CHECKPOINT vote for a seen digest, right or wrong, to some replicas (§5.2.2).
    case checkpoint
    /// The moves above in the order that rewrites history (issue 10, first attack):
    /// certified PREPAREs of a view it leads that nobody established, over the order
    /// numbers in flight, then its counter cleaned past that view, then a VIEW-CHANGE
    /// for a later view that claims an old `fromView` and carries those PREPAREs.
    case rewriteHistory
  }

  /// The chance to move on each tick.
  var rate: Double
  /// Relative weights of the moves.
  var weights: [Int]
  /// Kinds of its real pillars' messages that are withheld from some replicas.
  var withheld: [MessageKind: Set<ReplicaID>]

  init(_ random: inout SimulationRandom, replica: ReplicaID, configuration: ProtocolConfiguration) {
    rate = random.pick([0.1, 0.25, 0.5, 0.8])
    var weights = Move.allCases.map { _ in random.int(0...4) }
    if weights.reduce(0, +) == 0 { weights[Move.viewChange.rawValue] = 1 }
    self.weights = weights
    let others = configuration.replicas.filter { $0 != replica }
    var withheld: [MessageKind: Set<ReplicaID>] = [:]
    if random.chance(0.5) {
      let kinds: [MessageKind] = [
        .prepare, .commit, .checkpoint, .viewChange, .newView, .newViewAck,
      ]
      for _ in 0..<random.int(1...2) {
        let victims = random.shuffled(others).prefix(random.int(1...others.count))
        withheld[random.pick(kinds)] = Set(victims)
      }
    }
    self.withheld = withheld
  }

  /// Draws a move.
  func move(_ random: inout SimulationRandom) -> Move {
    Move(rawValue: random.weighted(weights))!
  }
}
