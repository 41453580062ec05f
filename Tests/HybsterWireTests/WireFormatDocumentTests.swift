import Foundation
import HybsterCore
import HybsterWire
import NIOCore
import Testing

/// Checks the worked example in `docs/wire-format.md` against the implementation,
/// so that the document a client in another language is written from cannot rot.
/// (`clients/python/test_document.py` checks the same blocks against the Python
/// client written from the document, including the key derivation this module
/// cannot reach: X25519 and HKDF live behind `ClientKeyring`.)
@Suite("docs/wire-format.md worked example")
struct WireFormatDocumentTests {
  /// The replicas' X25519 private keys: 11, 22 and 33 × 32 bytes.
  static let replicaKeys: [[UInt8]] = [0x11, 0x22, 0x33].map { [UInt8](repeating: $0, count: 32) }
  /// The client: Ed25519 seed 44 × 32 bytes, X25519 private key 55 × 32 bytes.
  static let secret = try! ClientSecretKeys(
    signing: [UInt8](repeating: 0x44, count: 32), agreement: [UInt8](repeating: 0x55, count: 32))
  static let directory = try! ClientDirectory([secret.publicKeys])
  static func keyring(_ replica: ReplicaID) -> ClientKeyring {
    try! ClientKeyring(
      replica: replica, agreementKey: replicaKeys[Int(replica)], directory: directory)
  }
  static let replicaPublicKeys = (0..<3).map { keyring(ReplicaID($0)).publicKey }
  static func credentials(_ mode: ClientAuthMode) -> ClientCredentials {
    try! ClientCredentials(secret: secret, replicaKeys: replicaPublicKeys, mode: mode)
  }
  static var client: ClientID { secret.publicKeys.id }
  /// put "color" = "blue" (section 9).
  static let operation: [UInt8] =
    [1, 2, 0, 0, 0, 5] + Array("color".utf8) + [0, 0, 0, 4]
    + Array("blue".utf8)
  static let nonce = (0..<32).map { UInt8($0) }

  /// The example request in `mode`. Ed25519 (RFC 8032) signatures are deterministic
  /// and swift-crypto's BoringSSL backend produces them; CryptoKit randomizes them,
  /// so on Darwin the document's signature (checked valid below) stands in.
  static func request(_ mode: ClientAuthMode) throws -> Request {
    var request = credentials(mode).request(lane: 0, sequence: 1, operation: operation)
    #if canImport(Darwin)
      if mode == .signatures {
        request.signature?.signature = try #require(
          hexBytes(try values("example-values")["request.signature"]))
      }
    #endif
    return request
  }

  static func reply() -> Reply {
    var ring = keyring(1)
    var reply = Reply(
      client: client, lane: 0, sequence: 1, replica: 1, view: 0, result: [1, 2],
      tag: Fixtures.tag(0))
    reply.tag = ring.key(for: client)!.tag(reply.digest)
    return reply
  }

  static func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  static func hexBytes(_ text: String?) -> [UInt8]? {
    guard let text, text.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
      let next = text.index(index, offsetBy: 2)
      guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
      bytes.append(byte)
      index = next
    }
    return bytes
  }

  static var documentURL: URL {
    URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("docs/wire-format.md")
  }

  /// The lines of `docs/wire-format.md` between `<!-- BEGIN name -->` and
  /// `<!-- END name -->`, code fences left out.
  static func block(_ name: String) throws -> [String] {
    let text = try String(contentsOf: documentURL, encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let begin = try #require(lines.firstIndex(of: "<!-- BEGIN \(name) -->"))
    let end = try #require(lines.firstIndex(of: "<!-- END \(name) -->"))
    return lines[(begin + 1)..<end].filter { !$0.hasPrefix("```") }
  }

  /// The `name = value` lines of a block.
  static func values(_ name: String) throws -> [String: String] {
    var documented: [String: String] = [:]
    for line in try block(name) where line.contains("=") {
      let parts = line.split(separator: "=")
      documented[parts.first!.trimmingCharacters(in: .whitespaces)] =
        parts.last!.trimmingCharacters(in: .whitespaces)
    }
    return documented
  }

  /// A documented frame's bytes as hex, commentary after `#` left out.
  static func frame(_ name: String) throws -> String {
    try block(name)
      .map { line in line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? "" }
      .joined()
      .filter { !$0.isWhitespace }
      .lowercased()
  }

  @Test("the documented frames are exactly what WireCodec writes")
  func frames() throws {
    #expect(
      try Self.frame("request-frame")
        == Self.hex(Fixtures.frame(.request(try Self.request(.signatures))).readableBytesView))
    #expect(
      try Self.frame("request-frame-macs")
        == Self.hex(Fixtures.frame(.request(try Self.request(.macs))).readableBytesView))
    #expect(
      try Self.frame("hello-frame")
        == Self.hex(Fixtures.frame(.hello(Hello(role: .client(Self.client)))).readableBytesView))
    #expect(
      try Self.frame("reply-frame")
        == Self.hex(Fixtures.frame(.reply(Self.reply())).readableBytesView))
    let refusal = Refusal(
      lane: 0, sequence: 1, reason: .operationTooLarge,
      detail: "operation of \(Self.operation.count) bytes; this group's maxOperationSize is 16")
    #expect(
      try Self.frame("refused-frame")
        == Self.hex(Fixtures.frame(.refused(refusal)).readableBytesView))
  }

  @Test("the documented public keys and client id are what HybsterCore derives")
  func keys() throws {
    var actual: [String: String] = [
      "client.signingPublic": Self.hex(Self.secret.publicKeys.signing),
      "client.agreementPublic": Self.hex(Self.secret.publicKeys.agreement),
      "client.id": "\(Self.client)",
    ]
    for replica in 0..<3 {
      actual["replica[\(replica)].clientKey"] = Self.hex(Self.replicaPublicKeys[replica])
    }
    #expect(try Self.values("example-keys") == actual)
  }

  @Test("the documented proof, digests, signature and tags are what HybsterCore computes")
  func exampleValues() throws {
    let signed = try Self.request(.signatures)
    let tagged = try Self.request(.macs)
    let reply = Self.reply()
    let signature = try #require(signed.signature)
    var actual: [String: String] = [
      "proof(c,1)": Self.hex(
        Self.credentials(.signatures).connectionProof(challenge: Self.nonce, replica: 1).bytes),
      "request.payloadDigest": Self.hex(signed.payloadDigest.bytes),
      "request.signedMessage": Self.hex(
        RequestSignature.signedMessage(root: signed.payloadDigest).bytes),
      "request.signature": Self.hex(signature.signature),
      "request.digest": Self.hex(signed.digest.bytes),
      "reply.digest": Self.hex(reply.digest.bytes),
      "reply.tag": Self.hex(reply.tag.bytes),
    ]
    for replica in 0..<3 {
      actual["tag[\(replica)]"] = Self.hex(tagged.authenticator[replica].bytes)
    }
    #expect(try Self.values("example-values") == actual)
    #expect(signature.index == 0 && signature.path.isEmpty)
    #expect(
      Self.secret.publicKeys.isValidSignature(
        signature.signature, over: RequestSignature.signedMessage(root: signed.payloadDigest)))
    #expect(tagged.digest == tagged.payloadDigest && tagged.signature == nil)
    #expect(Self.credentials(.signatures).verify(reply))
    var ring = Self.keyring(1)
    let proven = ring.verifyConnectionProof(
      Self.credentials(.macs).connectionProof(challenge: Self.nonce, replica: 1),
      client: Self.client, challenge: Self.nonce)
    #expect(proven)
  }

  @Test("the documented type table lists exactly the implemented type bytes")
  func typeTable() throws {
    let text = try String(contentsOf: Self.documentURL, encoding: .utf8)
    let documented = text.split(separator: "\n").compactMap { line -> UInt8? in
      guard line.hasPrefix("| `0x"), let end = line.dropFirst(5).firstIndex(of: "`") else {
        return nil
      }
      return UInt8(line[line.index(line.startIndex, offsetBy: 5)..<end], radix: 16)
    }
    #expect(documented.sorted() == WireMessageType.allCases.map(\.rawValue).sorted())
  }

  @Test("the documented batch digest is what HybsterCore computes")
  func batchDigest() throws {
    let line = try #require(try Self.block("batch-digest").first { $0.contains("=") })
    let documented = line.split(separator: "=").last!.trimmingCharacters(in: .whitespaces)
    let request = try Self.request(.signatures)
    let batch = Batch(requests: [request, request])
    #expect(documented == Self.hex(batch.digest.bytes))
  }

  @Test("the documented digest tags are the implemented ones")
  func digestTags() throws {
    let text = try String(contentsOf: Self.documentURL, encoding: .utf8)
    // Rows like "| `13` (`0d`) | client identity |", two per table line.
    let pattern = try Regex(#"`(\d+)` \(`([0-9a-f]{2})`\)"#)
    var documented: [UInt8] = []
    for match in text.matches(of: pattern) {
      let decimal = try #require(UInt8(String(match.output[1].substring!)))
      #expect(UInt8(String(match.output[2].substring!), radix: 16) == decimal)
      documented.append(decimal)
    }
    #expect(documented.sorted() == (1...17).map { UInt8($0) })
    #expect((1...17).allSatisfy { DigestTag(rawValue: UInt8($0)) != nil })
    #expect(DigestTag(rawValue: 18) == nil)
  }
}
