/// Big-endian integer encoding for the storage formats. Readers never trust a length they
/// read: callers check bounds before calling ``readBigEndian(_:at:as:)``.
extension Array where Element == UInt8 {
  /// Appends `value` in big-endian byte order.
  mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
  }
}

/// The big-endian `T` at `offset` in `bytes`; the caller guarantees
/// `offset + MemoryLayout<T>.size <= bytes.count`.
func readBigEndian<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
  var value: T = 0
  for index in offset..<offset + MemoryLayout<T>.size {
    value = value << 8 | T(truncatingIfNeeded: bytes[index])
  }
  return value
}
