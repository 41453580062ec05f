/// Why a byte string is not a valid frame. Decoding is total: every input either
/// decodes to a ``WireMessage`` or fails with exactly one of these (§5.2: a
/// malformed message from a Byzantine peer is dropped, never a crash).
///
/// Field names are dotted paths such as `"request.operation"` or
/// `"prepare.certificate.kind"`, as in `docs/wire-format.md`.
public enum WireError: Error, Hashable, Sendable {
  /// The input ended inside `field`.
  case truncated(field: String)
  /// The frame's version byte is not one this implementation speaks.
  case unknownVersion(UInt8)
  /// The frame's type byte names no message.
  case unknownMessageType(UInt8)
  /// A frame's length field (or an encoded frame) exceeds the frame limit.
  case frameTooLarge(length: Int, limit: Int)
  /// A count or byte length in `field` exceeds its limit.
  case fieldTooLarge(field: String, count: Int, limit: Int)
  /// The payload was complete but `count` bytes of the frame remained.
  case trailingBytes(count: Int)
  /// `field` holds a view, order number, sequence number or counter value above
  /// `limit` (``ProtocolNumbers/limit``): no correct peer ever sends one.
  case numberOutOfRange(field: String, value: UInt64, limit: UInt64)
  /// `field` holds a value outside its enumeration.
  case invalidEnumValue(field: String, value: UInt8)
  /// `field` is well formed but not in its one canonical form (for example
  /// snapshot entries out of order, ``SnapshotCodec``).
  case notCanonical(field: String)
}
