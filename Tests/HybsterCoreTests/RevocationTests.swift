import HybsterCore
import Testing

/// Revoking a client (issue 13): it can no longer connect and no correct replica
/// orders a request of it again, but a request of it ordered before still checks
/// out, so replicas that replay their logs and replicas that fetched the state agree.
@Suite("Client revocation")
struct RevocationTests {
  static let keys = InProcessKeys(replicas: 3, clients: 2, seed: 13)
  static var revokedID: ClientID { keys.clients[1].publicKeys.id }

  static func authenticator(revoking: Bool) throws -> RequestAuthenticator {
    let directory = try ClientDirectory(
      keys.clients.map(\.publicKeys), revoked: revoking ? [revokedID] : [])
    let keyring = try ClientKeyring(
      replica: 0, agreementKey: keys.replicaKeys[0], directory: directory)
    return RequestAuthenticator(keyring: keyring, mode: .signatures)
  }

  @Test("a revoked client's request is authentic but not ordered, and still executes when replayed")
  func revokedRequests() throws {
    var clients = try Self.authenticator(revoking: true)
    let revoked = Self.keys.credentials(1, mode: .signatures).request(
      lane: 0, sequence: 1, operation: [1])
    let admitted = Self.keys.credentials(0, mode: .signatures).request(
      lane: 0, sequence: 1, operation: [2])
    let authentic = clients.isAuthentic(revoked, payload: revoked.payloadDigest)
    let ordersRevoked = clients.mayOrder(revoked, payload: revoked.payloadDigest)
    let ordersAdmitted = clients.mayOrder(admitted, payload: admitted.payloadDigest)
    #expect(authentic && !ordersRevoked && ordersAdmitted)
    // A batch ordered before the revocation, delivered again from a journal.
    let batch = Batch(requests: [revoked, admitted])
    let delivered = clients.authenticPart(of: batch)
    #expect(delivered == batch)
  }

  @Test("a revoked client cannot prove its identity on a new connection")
  func revokedConnections() throws {
    var keyring = try Self.authenticator(revoking: true).keyring
    let challenge = [UInt8](repeating: 7, count: 32)
    for (index, admitted) in [(0, true), (1, false)] {
      let credentials = Self.keys.credentials(index, mode: .signatures)
      let proof = credentials.connectionProof(challenge: challenge, replica: 0)
      let verified = keyring.verifyConnectionProof(
        proof, client: credentials.client, challenge: challenge)
      #expect(verified == admitted)
    }
  }

  @Test("revoking changes the directory's digest: replicas that disagree do not talk")
  func digest() throws {
    let before = try Self.authenticator(revoking: false).keyring.directory
    let after = try Self.authenticator(revoking: true).keyring.directory
    #expect(before.digest != after.digest)
    #expect(after.isRevoked(Self.revokedID) && !after.admits(Self.revokedID))
    #expect(before.admits(Self.revokedID))
  }
}
