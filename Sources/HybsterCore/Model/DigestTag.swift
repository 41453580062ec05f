/// Domain-separation tags: the first byte under every digest the protocol certifies
/// or authenticates, so that no message can be passed off as one of another type.
public enum DigestTag: UInt8, Sendable {
  case request = 1
  case batch = 2
  case prepare = 3
  case commit = 4
  case checkpoint = 5
  case reply = 6
  case checkpointState = 7
  case clientKey = 8
  case replyVector = 9
  case viewChange = 10
  case newViewAck = 11
  case connectionProof = 12
  case clientIdentity = 13
  case clientDirectory = 14
  case signedRequest = 15
  case merkleNode = 16
  case signedRoot = 17
}
