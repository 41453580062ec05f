import HybsterServices
import Testing

@testable import HybsterCore

/// Client identities (issue 13; the "certified REQUEST" of §5.2.1 made publicly
/// verifiable): Merkle-signed requests, the directory's id binding, and the MAC key
/// `k(c, r)` that a client and a replica derive on their own.
@Suite("Client identities and signed requests (issue 13)")
struct ClientIdentityTests {
  /// A fresh authenticator of replica `r` (no signature remembered yet).
  static func authenticator(_ r: Int = 1) -> RequestAuthenticator {
    Keys.authenticator(r, mode: .signatures)
  }

  /// Whether replica `r` finds `request` authentic, with nothing remembered.
  static func authentic(_ request: Request, at r: Int = 1) -> Bool {
    var authenticator = authenticator(r)
    return authenticator.isAuthentic(request, payload: request.payloadDigest)
  }

  static func items(_ count: Int) -> [(lane: UInt32, sequence: UInt64, operation: [UInt8])] {
    (0..<count).map { i -> (lane: UInt32, sequence: UInt64, operation: [UInt8]) in
      (UInt32(i), UInt64(1 + i % 3), [UInt8(i), 0x5A])
    }
  }

  @Test("requests signed together (one Merkle root) all verify", arguments: [1, 2, 3, 5, 16])
  func merkleBatchesVerify(count: Int) {
    let client = Keys.credentials(client: 2, replicas: 3)
    let requests = client.requests(Self.items(count))
    #expect(requests.count == count)
    // One signature over the root; a lone request's root is its own payload digest.
    #expect(Set(requests.map { $0.signature?.signature ?? [] }).count == 1)
    #expect(requests.map { $0.signature?.index } == (0..<count).map { UInt32($0) })
    if count == 1 { #expect(requests[0].signature?.path.isEmpty == true) }
    for r in 0..<3 {
      var authenticator = Self.authenticator(r)
      for request in requests {
        #expect(request.client == client.client)
        let authentic = authenticator.isAuthentic(request, payload: request.payloadDigest)
        #expect(authentic, "replica \(r)")
      }
    }
  }

  /// Ways to tamper with one request of a signed batch; each makes it inauthentic.
  enum Tampering: String, CaseIterable, CustomTestStringConvertible {
    case operation, sequence, lane, index, indexOutOfRange, pathDigest, pathTruncated
    case pathExtended, signatureByte, signatureTruncated, noSignature, otherClientsId
    var testDescription: String { rawValue }

    func apply(to request: inout Request) {
      switch self {
      case .operation: request.operation.append(0xFF)
      case .sequence: request.sequence += 1
      case .lane: request.lane += 1
      case .index: request.signature!.index ^= 1
      case .indexOutOfRange: request.signature!.index = 1 << request.signature!.path.count
      case .pathDigest: request.signature!.path[0] = Digest.of([0xEE])
      case .pathTruncated: request.signature!.path.removeLast()
      case .pathExtended: request.signature!.path.append(Digest.zero)
      case .signatureByte: request.signature!.signature[7] ^= 0x01
      case .signatureTruncated: request.signature!.signature.removeLast()
      case .noSignature: request.signature = nil
      case .otherClientsId: request.client = Keys.clientID(3)
      }
    }
  }

  @Test(
    "tampering with any request of a signed batch makes it inauthentic",
    arguments: Tampering.allCases, [0, 2, 4])
  func tamperedMerkleRequests(_ tampering: Tampering, position: Int) {
    let requests = Keys.credentials(client: 2, replicas: 3).requests(Self.items(5))
    var tampered = requests[position]
    tampering.apply(to: &tampered)
    #expect(!Self.authentic(tampered))
    // Its siblings stay authentic, also after the tampered one was checked first.
    var authenticator = Self.authenticator()
    let tamperedFirst = authenticator.isAuthentic(tampered, payload: tampered.payloadDigest)
    #expect(!tamperedFirst)
    for request in requests {
      let sibling = authenticator.isAuthentic(request, payload: request.payloadDigest)
      #expect(sibling)
    }
    // And a remembered signature does not vouch for the tampered request.
    let tamperedLater = authenticator.isAuthentic(tampered, payload: tampered.payloadDigest)
    #expect(!tamperedLater)
  }

  @Test("a request signed under one client's key but carrying another client's id is inauthentic")
  func signedUnderAnotherClientsId() {
    let mallory = Keys.client(4)
    var request = Request(
      client: Keys.clientID(5), lane: 0, sequence: 1, operation: [1], authenticator: [])
    // Mallory signs the very payload that names client 5 (not one that names her).
    let message = RequestSignature.signedMessage(root: request.payloadDigest)
    request.signature = RequestSignature(signature: mallory.sign(message), index: 0, path: [])
    #expect(!Self.authentic(request))
    // The same signature under her own id (over another payload) is no better.
    request.client = mallory.publicKeys.id
    #expect(!Self.authentic(request))
    // Her genuine request is fine.
    #expect(
      Self.authentic(
        Keys.credentials(client: 4, replicas: 3).request(
          lane: 0, sequence: 1, operation: [1])))
  }

  @Test("a client that is not in the directory is refused in both modes")
  func unknownClient() throws {
    let stranger = try ClientSecretKeys(
      signing: Array(repeating: 0x77, count: 32), agreement: Array(repeating: 0x78, count: 32))
    #expect(Keys.directory[stranger.publicKeys.id] == nil)
    for mode in ClientAuthMode.allCases {
      let credentials = try ClientCredentials(
        secret: stranger, replicaKeys: Keys.replicaPublicKeys(3), mode: mode)
      let request = credentials.request(lane: 0, sequence: 1, operation: [1])
      var authenticator = Keys.authenticator(0, mode: mode)
      let accepted = authenticator.isAuthentic(request, payload: request.payloadDigest)
      #expect(!accepted, "\(mode)")
    }
  }

  @Test("the directory refuses two different clients with one id, and accepts a duplicate key")
  func directoryIdCollision() throws {
    // Found offline: with this signing key (RFC 8032, test 1) the two agreement keys
    // give the same 32-bit id (the first four bytes of SHA-256 over both keys).
    let signing = Self.bytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    let a = try ClientPublicKeys(
      signing: signing,
      agreement: Self.bytes("7a973c85e1dee81135373d401abde710ef4b8bbc7379bad07eb7f29d286d055c"))
    let b = try ClientPublicKeys(
      signing: signing,
      agreement: Self.bytes("7b9941bc98660acda274f861a22dd929fa47aa942082435692aeb86a055afca6"))
    #expect(a != b)
    #expect(a.id == 0x3E55_7682 && b.id == a.id)
    #expect(throws: ClientDirectoryError.idCollision(a.id)) { try ClientDirectory([a, b]) }
    let duplicate = try ClientDirectory([a, a, Keys.client(1).publicKeys])
    #expect(duplicate.count == 2)
    #expect(duplicate.ids == [a.id, Keys.clientID(1)].sorted())
    // The directory's digest depends on its members, not on their order.
    let reordered = try ClientDirectory([Keys.client(1).publicKeys, a])
    #expect(reordered.digest == duplicate.digest)
    #expect(try ClientDirectory([a]).digest != duplicate.digest)
  }

  @Test("a malformed key is refused with the field it is in")
  func malformedKeys() {
    #expect(throws: ClientKeyError.self) {
      try ClientPublicKeys(signing: [1, 2, 3], agreement: Array(repeating: 1, count: 32))
    }
    #expect(throws: ClientKeyError.self) {
      try ClientSecretKeys(signing: Array(repeating: 1, count: 32), agreement: [])
    }
    #expect(throws: ClientKeyError.self) {
      try ClientKeyring(replica: 0, agreementKey: [1], directory: Keys.directory)
    }
  }

  @Test(
    "client and replica derive the same k(c, r): replies and connection proofs verify",
    arguments: ClientAuthMode.allCases)
  func sharedKeys(mode: ClientAuthMode) throws {
    let n = 3
    let client = Keys.credentials(client: 6, replicas: n, mode: mode)
    let other = Keys.credentials(client: 7, replicas: n, mode: mode)
    let request = client.request(
      lane: 0, sequence: 1, operation: KeyValueOperation.get(key: [1]).encode())
    for r in 0..<n {
      // A reply tagged by the execution stage verifies at the client, not at another.
      var stage = ExecutionStage(
        service: KeyValueStore(), replica: ReplicaID(r), checkpointInterval: 100,
        keyring: Keys.keyring(r))
      var replies: [Reply] = []
      _ = stage.execute(order: 1, view: 0, batch: Batch(requests: [request]), replies: &replies)
      let reply = try #require(replies.first)
      #expect(client.verify(reply))
      #expect(!other.verify(reply))
      // A connection proof verifies at its replica, for its challenge only.
      let challenge: [UInt8] = [UInt8(r), 1, 2, 3]
      let proof = client.connectionProof(challenge: challenge, replica: ReplicaID(r))
      var keyring = Keys.keyring(r)
      let proven = keyring.verifyConnectionProof(proof, client: client.client, challenge: challenge)
      #expect(proven)
      let otherChallenge = keyring.verifyConnectionProof(
        proof, client: client.client, challenge: [9])
      #expect(!otherChallenge)
      let otherClient = keyring.verifyConnectionProof(
        proof, client: other.client, challenge: challenge)
      #expect(!otherClient)
      var neighbour = Keys.keyring((r + 1) % n)
      let neighbourProven = neighbour.verifyConnectionProof(
        proof, client: client.client, challenge: challenge)
      #expect(!neighbourProven)
    }
  }

  @Test("a client that is not admitted cannot prove a connection, whatever keys it derived")
  func strangersProofFails() throws {
    let stranger = try ClientSecretKeys(
      signing: Array(repeating: 0x66, count: 32), agreement: Array(repeating: 0x67, count: 32))
    let credentials = try ClientCredentials(
      secret: stranger, replicaKeys: Keys.replicaPublicKeys(3), mode: .signatures)
    var keyring = Keys.keyring(0)
    let proof = credentials.connectionProof(challenge: [1], replica: 0)
    let strangerProven = keyring.verifyConnectionProof(
      proof, client: credentials.client, challenge: [1])
    #expect(!strangerProven)
    #expect(keyring.key(for: credentials.client) == nil)
  }

  @Test("macs: a request carries one valid tag per replica and no signature")
  func macRequests() {
    let client = Keys.credentials(client: 2, replicas: 3, mode: .macs)
    let request = client.request(lane: 0, sequence: 1, operation: [1])
    #expect(request.signature == nil)
    #expect(request.authenticator.count == 3)
    for r in 0..<3 {
      var authenticator = Keys.authenticator(r, mode: .macs)
      let tagged = authenticator.isAuthentic(request, payload: request.payloadDigest)
      #expect(tagged)
      // With signatures the same request is not authentic: it has none.
      #expect(!Self.authentic(request, at: r))
    }
  }

  static func bytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
      let next = hex.index(index, offsetBy: 2)
      bytes.append(UInt8(hex[index..<next], radix: 16)!)
      index = next
    }
    return bytes
  }
}
