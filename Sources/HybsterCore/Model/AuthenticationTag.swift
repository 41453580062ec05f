import TrInX

/// A 32-byte HMAC-SHA256 tag between a client and one replica. It shares the
/// inline, constant-time-comparing representation of TrInX MACs.
public typealias AuthenticationTag = TrInXMAC
