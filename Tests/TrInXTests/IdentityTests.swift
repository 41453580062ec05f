import Testing
import TrInX

/// TrInX identity proofs for connection handshakes (issue 11).
@Suite("TrInX identity proofs")
struct IdentityTests {
  static let key = [UInt8](repeating: 0x42, count: 32)
  static let challenge: [UInt8] = (0..<32).map { UInt8($0) }

  @Test("a proof verifies only for its prover, its verifier, its challenge and the group key")
  func proofIsBound() throws {
    let a = try TrInXIdentity(id: 1, key: Self.key)
    let b = try TrInXIdentity(id: 2, key: Self.key)
    let c = try TrInXIdentity(id: 3, key: Self.key)
    let proof = a.prove(challenge: Self.challenge, to: 2)
    #expect(b.verify(proof, from: 1, challenge: Self.challenge))
    // Another claimed prover, another verifier, another challenge: refused.
    #expect(!b.verify(proof, from: 3, challenge: Self.challenge))
    #expect(!c.verify(proof, from: 1, challenge: Self.challenge))
    var other = Self.challenge
    other[0] ^= 1
    #expect(!b.verify(proof, from: 1, challenge: other))
    // Without the group key nobody proves anything.
    let stranger = try TrInXIdentity(id: 1, key: [UInt8](repeating: 7, count: 32))
    #expect(
      !b.verify(
        stranger.prove(challenge: Self.challenge, to: 2), from: 1, challenge: Self.challenge))
    #expect(throws: TrInXError.invalidKeyLength(3)) { try TrInXIdentity(id: 1, key: [1, 2, 3]) }
  }
}
