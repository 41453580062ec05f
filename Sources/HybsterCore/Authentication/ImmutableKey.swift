/// A swift-crypto key held in a `Sendable` value. swift-crypto's Curve25519 key
/// types are immutable values but not declared `Sendable`; parsing one again for
/// every use would cost a scalar multiplication per signature.
struct ImmutableKey<Key>: @unchecked Sendable {
  let key: Key
  init(_ key: Key) { self.key = key }
}
