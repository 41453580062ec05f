import Foundation
import HybsterCore
import HybsterWire
import NIOCore
import Testing

/// Checks the worked example in `docs/wire-format.md` against the implementation,
/// so that the document a client in another language is written from cannot rot.
@Suite("docs/wire-format.md worked example")
struct WireFormatDocumentTests {
  static let replicaSecrets: [[UInt8]] = [
    [UInt8](repeating: 0x11, count: 32),
    [UInt8](repeating: 0x22, count: 32),
    [UInt8](repeating: 0x33, count: 32),
  ]
  static let credentials = ClientCredentials(client: 7, replicaSecrets: replicaSecrets)
  static let request = credentials.request(lane: 0, sequence: 1, operation: Array("hello".utf8))

  static func reply() -> Reply {
    var keyring = ClientKeyring(replicaSecret: replicaSecrets[1])
    var reply = Reply(
      client: 7, lane: 0, sequence: 1, replica: 1, view: 0, result: Array("world".utf8),
      tag: Fixtures.tag(0))
    reply.tag = keyring.key(for: 7).tag(reply.digest)
    return reply
  }

  static func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
  }

  /// The lines of `docs/wire-format.md` between `<!-- BEGIN name -->` and
  /// `<!-- END name -->`, code fences left out.
  static func block(_ name: String) throws -> [String] {
    let url = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("docs/wire-format.md")
    let text = try String(contentsOf: url, encoding: .utf8)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let begin = try #require(lines.firstIndex(of: "<!-- BEGIN \(name) -->"))
    let end = try #require(lines.firstIndex(of: "<!-- END \(name) -->"))
    return lines[(begin + 1)..<end].filter { !$0.hasPrefix("```") }
  }

  @Test("the documented request frame is exactly what WireCodec writes")
  func requestFrame() throws {
    let documented = try Self.block("request-frame")
      .map { line in line.split(separator: "#", maxSplits: 1).first.map(String.init) ?? "" }
      .joined()
      .filter { !$0.isWhitespace }
      .lowercased()
    let actual = Self.hex(Fixtures.frame(.request(Self.request)).readableBytesView)
    #expect(documented == actual)
  }

  @Test("the documented keys, digests and tags are what HybsterCore computes")
  func exampleValues() throws {
    var documented: [String: String] = [:]
    for line in try Self.block("example-values") where line.contains("=") {
      let parts = line.split(separator: "=")
      let name = parts.first!.trimmingCharacters(in: .whitespaces)
      documented[name] = parts.last!.trimmingCharacters(in: .whitespaces)
    }
    let request = Self.request
    let reply = Self.reply()
    var actual: [String: String] = [
      "request.digest": Self.hex(request.digest.bytes),
      "reply.digest": Self.hex(reply.digest.bytes),
      "reply.tag": Self.hex(reply.tag.bytes),
    ]
    for replica in 0..<3 {
      actual["k(7,\(replica))"] = Self.hex(
        ClientKeyring.derive(clientKeyFor: 7, replicaSecret: Self.replicaSecrets[replica]))
      actual["tag[\(replica)]"] = Self.hex(request.authenticator[replica].bytes)
    }
    #expect(documented == actual)
    #expect(Self.credentials.verify(reply))
  }

  @Test("the documented type table lists exactly the implemented type bytes")
  func typeTable() throws {
    let url = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("docs/wire-format.md")
    let text = try String(contentsOf: url, encoding: .utf8)
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
    let batch = Batch(requests: [Self.request, Self.request])
    #expect(documented == Self.hex(batch.digest.bytes))
  }
}
