import HybsterCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Durable snapshots of the service state at checkpoints: one file per snapshot,
/// `<prefix>-<order, 20 digits>.snap`, in one directory (see ``SnapshotFormat``). It stores
/// opaque bytes and knows nothing about what they mean.
///
/// ``write(order:bytes:keepingFrom:)`` is atomic: a temporary file is written and fsync'd, renamed into
/// place and the directory fsync'd, so a crash leaves the old set of snapshots or the new
/// one, never a partial file under a snapshot name. It keeps what
/// ``HybsterCore/SnapshotRetention`` says: the newest ``retained``, and every one from the
/// caller's last stable checkpoint on.
/// ``latest()`` returns the newest snapshot that verifies and sets damaged ones aside.
public struct SnapshotStore: Sendable {
  /// The directory holding the snapshots.
  public let directory: String
  /// The prefix of the snapshot file names.
  public let prefix: String
  /// Whether writes are forced to disk (``Durability/none`` skips every fsync).
  public let durability: Durability
  /// How many of the newest snapshots ``write(order:bytes:keepingFrom:)`` keeps whatever
  /// is stable: two.
  public let retained = SnapshotRetention.newest
  /// Damaged snapshots ``latest()`` found (and renamed to `*.corrupt`), oldest report first.
  public private(set) var damage: [StorageDamage] = []

  /// Opens (creating if needed) the snapshot directory and removes temporary files a crash
  /// during ``write(order:bytes:keepingFrom:)`` left.
  public init(directory: String, prefix: String, durability: Durability = .fsync)
    throws(StorageError)
  {
    guard FileSystem.isValidName(prefix) else { throw .invalidName(prefix) }
    var directory = directory
    while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
    self.directory = directory
    self.prefix = prefix
    self.durability = durability
    try FileSystem.makeDirectory(directory, durability: durability)
    for file in try FileSystem.list(directory) where file.hasSuffix(".tmp") {
      let snapshot = String(file.dropLast(4))
      if SnapshotFormat.order(inFileName: snapshot, prefix: prefix) != nil {
        try FileSystem.remove(directory + "/" + file)
      }
    }
  }

  /// The path of the snapshot at `order`.
  public func path(of order: UInt64) -> String {
    directory + "/" + SnapshotFormat.fileName(prefix: prefix, order: order)
  }

  /// The orders of the snapshot files present, newest first (not verified).
  public func orders() throws(StorageError) -> [UInt64] {
    try FileSystem.list(directory)
      .compactMap { SnapshotFormat.order(inFileName: $0, prefix: prefix) }
      .sorted(by: >)
  }

  /// Durably stores `bytes` as the snapshot at `order` (replacing one at the same order),
  /// then removes the snapshots that are neither among the newest ``retained`` nor at or
  /// after `stable`, the caller's last stable checkpoint (``HybsterCore/SnapshotRetention``).
  public func write(order: UInt64, bytes: [UInt8], keepingFrom stable: UInt64 = .max)
    throws(StorageError)
  {
    let path = path(of: order)
    let temporary = path + ".tmp"
    let fd = try FileSystem.open(temporary, O_WRONLY | O_CREAT | O_TRUNC)
    do throws(StorageError) {
      let header = SnapshotFormat.header(order: order, payload: bytes)
      try FileSystem.write(fd, header, at: 0, path: temporary)
      try FileSystem.write(fd, bytes, at: header.count, path: temporary)
      if durability == .fsync { try FileSystem.syncFile(fd, path: temporary) }
      _ = close(fd)
    } catch {
      _ = close(fd)
      try? FileSystem.remove(temporary)
      throw error
    }
    try FileSystem.rename(temporary, to: path)
    if durability == .fsync { try FileSystem.syncDirectory(directory) }
    let superseded = SnapshotRetention.superseded(try orders(), stable: stable)
    for old in superseded { try FileSystem.remove(self.path(of: old)) }
    if !superseded.isEmpty && durability == .fsync { try FileSystem.syncDirectory(directory) }
  }

  /// The newest snapshot that verifies, or `nil` if there is none. Each newer one that does
  /// not verify is reported in ``damage`` and renamed to `*.corrupt`.
  public mutating func latest() throws(StorageError) -> (order: UInt64, bytes: [UInt8])? {
    try verified(try orders(), atMost: 1).first
  }

  /// Every snapshot older than `order` that verifies, newest first; damaged ones are
  /// reported in ``damage`` and set aside as in ``latest()``.
  public mutating func verified(olderThan order: UInt64) throws(StorageError) -> [(
    order: UInt64, bytes: [UInt8]
  )] {
    try verified(try orders().filter { $0 < order }, atMost: .max)
  }

  /// Reads the snapshots at `orders` in turn until `limit` verified: each that does not
  /// is reported in ``damage`` and renamed to `*.corrupt` (the directory synced after).
  private mutating func verified(_ orders: [UInt64], atMost limit: Int) throws(StorageError)
    -> [(order: UInt64, bytes: [UInt8])]
  {
    var found: [(order: UInt64, bytes: [UInt8])] = []
    var setAside = false
    defer {
      if setAside && durability == .fsync { try? FileSystem.syncDirectory(directory) }
    }
    for order in orders where found.count < limit {
      let path = path(of: order)
      switch try read(path, order: order) {
      case .success(let bytes):
        found.append((order, bytes))
      case .failure(let failure):
        damage.append(.corrupt(path: path, offset: failure.offset, reason: failure.reason))
        try FileSystem.rename(path, to: path + ".corrupt")
        setAside = true
      }
    }
    return found
  }

  /// Why a snapshot file was rejected, and where.
  private struct Rejection: Error {
    var offset: UInt64
    var reason: String
  }

  /// Reads and verifies one snapshot file; allocates the payload only once the header has
  /// verified and its length matches the file's real size.
  private func read(_ path: String, order: UInt64) throws(StorageError)
    -> Result<[UInt8], Rejection>
  {
    let fd = try FileSystem.open(path, O_RDONLY)
    defer { _ = close(fd) }
    let size = try FileSystem.fileSize(fd, path: path)
    let headerBytes = try FileSystem.read(
      fd, count: SnapshotFormat.headerSize, at: 0, path: path)
    let header: SnapshotFormat.Header
    switch SnapshotFormat.readHeader(headerBytes, order: order, fileSize: size) {
    case .success(let verified): header = verified
    case .failure(let damage): return .failure(Rejection(offset: 0, reason: damage.reason))
    }
    let payload = try FileSystem.read(
      fd, count: header.length, at: SnapshotFormat.headerSize, path: path)
    guard payload.count == header.length else {
      return .failure(
        Rejection(offset: UInt64(SnapshotFormat.headerSize), reason: "file shrank while read"))
    }
    guard CRC32C.checksum(payload) == header.payloadChecksum else {
      return .failure(
        Rejection(offset: UInt64(SnapshotFormat.headerSize), reason: "payload checksum mismatch"))
    }
    return .success(payload)
  }
}
