/// Identifies a replica: its index in the configuration, `0..<n` (§5.2).
public typealias ReplicaID = UInt32

/// A view number; the leader of view `v` is replica `v mod n` (§5.2.1).
public typealias View = UInt64

/// An order number (consensus instance) within the total order (§5.2.1).
public typealias OrderNumber = UInt64

/// Identifies a client principal; its authentication keys derive from this id.
public typealias ClientID = UInt32
