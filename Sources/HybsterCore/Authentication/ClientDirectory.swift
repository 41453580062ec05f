/// The clients a group admits (issue 13): every admitted client's public keys, by
/// id. Every replica of a group must hold the same directory — whether a request
/// is authentic, and so whether it executes, depends on it — and its ``digest`` is
/// part of what peers compare when they connect.
public struct ClientDirectory: Hashable, Sendable {
  private var clients: [ClientID: ClientPublicKeys] = [:]

  /// A directory of `clients`; two different clients whose ids collide are refused.
  public init(_ clients: [ClientPublicKeys]) throws(ClientDirectoryError) {
    for client in clients {
      if let existing = self.clients[client.id] {
        guard existing == client else { throw .idCollision(client.id) }
        continue
      }
      self.clients[client.id] = client
    }
  }

  /// The empty directory: no client is admitted.
  public static let empty = try! ClientDirectory([])

  /// The admitted client with id `id`, if any.
  public subscript(id: ClientID) -> ClientPublicKeys? { clients[id] }

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
