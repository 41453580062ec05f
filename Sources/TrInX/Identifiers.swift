/// The identifier of a TrInX instance, unique within a group and known to all
/// replicas through the configuration (§5.1, §5.2).
public typealias TrInXInstanceID = UInt32

/// The index of a trusted counter inside one TrInX instance (§5.1).
public typealias TrInXCounterID = UInt32
