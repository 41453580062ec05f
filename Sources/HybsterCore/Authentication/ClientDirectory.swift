/// The clients a group knows (issue 13): every admitted or revoked client's public
/// keys, by id. Every replica of a group must hold the same directory — whether a
/// request is authentic, and so whether it executes, depends on it — and its
/// ``digest`` is part of what peers compare when they connect.
///
/// A revoked client can no longer connect, and no correct replica orders a request
/// of it again, but its keys stay: a request of it that was ordered before must
/// still check out when a replica replays its log after a restart, or replicas
/// that replay and replicas that fetched the state would disagree about it.
public struct ClientDirectory: Hashable, Sendable {
  private var clients: [ClientID: ClientPublicKeys] = [:]
  private var revoked: Set<ClientID> = []

  /// A directory of `clients`, of which those in `revoked` are revoked; two
  /// different clients whose ids collide are refused.
  public init(_ clients: [ClientPublicKeys], revoked: Set<ClientID> = [])
    throws(ClientDirectoryError)
  {
    for client in clients {
      if let existing = self.clients[client.id] {
        guard existing == client else { throw .idCollision(client.id) }
        continue
      }
      self.clients[client.id] = client
    }
    self.revoked = revoked.filter { self.clients[$0] != nil }
  }

  /// The empty directory: no client is admitted.
  public static let empty = try! ClientDirectory([])

  /// The known (admitted or revoked) client with id `id`, if any.
  public subscript(id: ClientID) -> ClientPublicKeys? { clients[id] }

  /// Whether client `id` is known and not revoked.
  public func admits(_ id: ClientID) -> Bool { clients[id] != nil && !revoked.contains(id) }

  /// Whether client `id` was revoked.
  public func isRevoked(_ id: ClientID) -> Bool { revoked.contains(id) }

  /// The number of admitted clients.
  public var count: Int { clients.count }

  /// The admitted ids, ascending.
  public var ids: [ClientID] { clients.keys.sorted() }

  /// A digest over every admitted client, in id order.
  public var digest: Digest {
    var builder = DigestBuilder(tag: DigestTag.clientDirectory.rawValue)
    builder.append(UInt32(clients.count))
    for id in ids {
      builder.append(bytes: clients[id]!.signing)
      builder.append(bytes: clients[id]!.agreement)
      builder.append(UInt8(revoked.contains(id) ? 1 : 0))
    }
    return builder.finalize()
  }
}

/// Why a set of client keys is not a directory.
public enum ClientDirectoryError: Error, Hashable, Sendable, CustomStringConvertible {
  case idCollision(ClientID)

  public var description: String {
    switch self {
    case .idCollision(let id):
      "two different clients have id \(id): generate a new key for one of them"
    }
  }
}
