#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A segmented, append-only log of opaque byte records in one directory, with group commit.
/// It knows nothing about what the records mean.
///
/// - Records are ``append(_:)``ed to a memory buffer and made durable together by
///   ``sync()``: one write of all of them and one `fdatasync` (with ``Durability/fsync``),
///   however many there are.
/// - ``startBase(_:)`` garbage-collects: it writes the caller's full state as the first
///   records of a new *base* segment, marks the base complete, and then deletes every older
///   segment. Recovery replays the newest complete base and what was appended after it.
/// - A segment that exceeds ``segmentLimit`` is sealed and appends continue in a
///   *continuation* segment; recovery concatenates the chain.
/// - ``open(directory:name:durability:segmentLimit:)`` recovers what is on disk into
///   ``recovered``, reporting torn tails and corruption as ``StorageDamage`` instead of
///   failing. See ``LogSegmentFormat`` for the bytes.
///
/// A failed write or sync truncates the segment back to its last synced size, so no half
/// record can be accepted later, and leaves the log failed: every further call throws
/// ``StorageError/failed(path:)``; reopening recovers what was synced.
///
/// Not thread-safe: confine an instance to one isolation domain. Dropping it closes the
/// file; records appended but not synced are lost, exactly as in a crash.
public final class RecordLog {
  /// The largest record: 64 MiB.
  public static let maxRecordLength = LogSegmentFormat.maxRecordLength
  /// The size after which a segment is sealed: 64 MiB.
  public static let defaultSegmentLimit = 64 << 20
  /// Base records are written in chunks of about this size.
  static let baseChunkSize = 1 << 20

  /// The directory holding the segments.
  public let directory: String
  /// The log's name, the prefix of its segment files.
  public let name: String
  /// Whether writes are forced to disk.
  public let durability: Durability
  /// A segment is sealed once appending a group would take it beyond this many bytes.
  public let segmentLimit: Int
  /// What ``open(directory:name:durability:segmentLimit:)`` found: the records to replay and
  /// the damage discarded. Kept until ``releaseRecovered()``.
  public private(set) var recovered: RecoveredLog
  /// The sequence number of the segment appends go to.
  public private(set) var segmentSequence: UInt64
  /// Bytes written to segment files since opening (a monotonic counter for metrics; the
  /// rate is its derivative).
  public private(set) var bytesWritten: UInt64 = 0
  /// Write calls (each a `pwrite` loop) since opening.
  public private(set) var writeCount: UInt64 = 0
  /// `fdatasync`s of segment files since opening (zero with ``Durability/none``).
  public private(set) var syncCount: UInt64 = 0
  /// Why removing the segments a completed base superseded failed, if it did; the base is
  /// complete regardless, and the next open removes them.
  public private(set) var cleanupError: StorageError?
  /// Whether an earlier write or sync failed; the log then refuses all work.
  public private(set) var isFailed = false

  /// Records appended since the last sync.
  public var pendingCount: Int { pending.count }

  private var fd: Int32 = -1
  private var segmentSize = 0
  /// The bytes of the segment appends go to, header and synced records.
  public var segmentBytes: Int { segmentSize }
  private var pending: [[UInt8]] = []
  private var pendingBytes = 0

  /// Tests only: the next write writes only `bytes` bytes and then fails with `errno`.
  var injectedWriteFault: (bytes: Int, errno: Int32)?

  private init(
    directory: String, name: String, durability: Durability, segmentLimit: Int,
    recovered: RecoveredLog, segmentSequence: UInt64
  ) {
    self.directory = directory
    self.name = name
    self.durability = durability
    self.segmentLimit = segmentLimit
    self.recovered = recovered
    self.segmentSequence = segmentSequence
  }

  deinit {
    if fd >= 0 { _ = close(fd) }
  }

  /// Opens (creating if needed) the log `name` in `directory` and recovers it: ``recovered``
  /// holds the records of the newest complete base and its continuation, in order, and the
  /// damage found. Damaged files are set aside as `*.corrupt` (a segment damaged in the
  /// middle is copied there and then truncated), torn tails are truncated, and superseded
  /// segments removed, so that appends continue right after the recovered records.
  public static func open(
    directory: String, name: String, durability: Durability = .fsync,
    segmentLimit: Int = defaultSegmentLimit
  ) throws(StorageError) -> RecordLog {
    guard FileSystem.isValidName(name) else { throw .invalidName(name) }
    var directory = directory
    while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
    try FileSystem.makeDirectory(directory, durability: durability)
    let result = try recover(directory: directory, name: name, durability: durability)
    let log = RecordLog(
      directory: directory, name: name, durability: durability, segmentLimit: segmentLimit,
      recovered: result.recovered, segmentSequence: result.tail?.sequence ?? result.highest)
    if let tail = result.tail {
      log.fd = try FileSystem.open(log.path(of: tail.sequence), O_WRONLY)
      log.segmentSize = tail.size
    } else {
      try log.startBase([])
    }
    return log
  }

  /// The path of segment `sequence`.
  func path(of sequence: UInt64) -> String {
    directory + "/" + LogSegmentFormat.fileName(name: name, sequence: sequence)
  }

  /// The path of the segment appends go to.
  public var segmentPath: String { path(of: segmentSequence) }

  /// Frees the memory of ``recovered`` once the caller has replayed it.
  public func releaseRecovered() {
    recovered = RecoveredLog(records: [], baseRecordCount: 0, damage: recovered.damage)
  }

  /// Buffers `record` (at most ``maxRecordLength`` bytes); durable after the next ``sync()``.
  public func append(_ record: [UInt8]) throws(StorageError) {
    try checkUsable()
    guard record.count <= Self.maxRecordLength else {
      throw .recordTooLarge(length: record.count, limit: Self.maxRecordLength)
    }
    pending.append(record)
    pendingBytes += LogSegmentFormat.frameHeaderSize + record.count
  }

  /// Writes every buffered record with one write call and then `fdatasync`s once (group
  /// commit). Returns once they survive a crash (with ``Durability/fsync``). Does nothing if
  /// nothing is buffered. On failure the segment is truncated back to its last synced size
  /// and the log fails.
  public func sync() throws(StorageError) {
    try checkUsable()
    guard !pending.isEmpty else { return }
    let records = pending
    let groupSize = pendingBytes
    pending = []
    pendingBytes = 0
    if segmentSize > LogSegmentFormat.headerSize && segmentSize + groupSize > segmentLimit {
      try rollOver(with: records, groupSize: groupSize)
      return
    }
    var buffer: [UInt8] = []
    buffer.reserveCapacity(groupSize)
    for record in records {
      LogSegmentFormat.appendRecord(record, sequence: segmentSequence, to: &buffer)
    }
    do throws(StorageError) {
      try write(fd, buffer, at: segmentSize, path: segmentPath)
      try syncData(fd, path: segmentPath)
    } catch {
      isFailed = true
      // Never leave a half group that a later open could take for records.
      if ftruncate(fd, off_t(segmentSize)) == 0 && durability == .fsync { _ = fsync(fd) }
      throw error
    }
    segmentSize += buffer.count
  }

  /// Starts a new base: syncs what is buffered, writes `records` (the caller's full state)
  /// as the first records of a new base segment, syncs them, writes and syncs the
  /// base-complete marker and the directory, and then deletes every older segment. Later
  /// appends go to the new segment. A crash before the marker is durable leaves the previous
  /// chain to recover; a failure fails the log. Failing to delete the older segments does
  /// not throw (see ``cleanupError``).
  public func startBase(_ records: [[UInt8]]) throws(StorageError) {
    try checkUsable()
    for record in records where record.count > Self.maxRecordLength {
      throw .recordTooLarge(length: record.count, limit: Self.maxRecordLength)
    }
    try sync()
    let sequence = try nextSequence()
    let (newFD, size) = try createSegment(sequence) { newFD, path throws(StorageError) in
      var size = 0
      var buffer = LogSegmentFormat.header(kind: .base, sequence: sequence)
      for record in records {
        if buffer.count >= Self.baseChunkSize {
          try write(newFD, buffer, at: size, path: path)
          size += buffer.count
          buffer.removeAll(keepingCapacity: true)
        }
        LogSegmentFormat.appendRecord(record, sequence: sequence, to: &buffer)
      }
      try write(newFD, buffer, at: size, path: path)
      size += buffer.count
      try syncData(newFD, path: path)
      var marker: [UInt8] = []
      LogSegmentFormat.appendBaseComplete(sequence: sequence, to: &marker)
      try write(newFD, marker, at: size, path: path)
      size += marker.count
      try syncData(newFD, path: path)
      return size
    }
    switchSegment(to: newFD, sequence: sequence, size: size)
    cleanupError = nil
    do throws(StorageError) {
      var removed = false
      for file in try FileSystem.list(directory) {
        if let old = LogSegmentFormat.sequence(inFileName: file, name: name), old < sequence {
          try FileSystem.remove(directory + "/" + file)
          removed = true
        }
      }
      if removed && durability == .fsync { try FileSystem.syncDirectory(directory) }
    } catch {
      cleanupError = error
    }
  }

  /// Seals the current segment and writes `records` as the first of a continuation segment.
  private func rollOver(with records: [[UInt8]], groupSize: Int) throws(StorageError) {
    let sequence = try nextSequence()
    var buffer = LogSegmentFormat.header(kind: .continuation, sequence: sequence)
    buffer.reserveCapacity(buffer.count + groupSize)
    for record in records {
      LogSegmentFormat.appendRecord(record, sequence: sequence, to: &buffer)
    }
    let (newFD, size) = try createSegment(sequence) { newFD, path throws(StorageError) in
      try write(newFD, buffer, at: 0, path: path)
      try syncData(newFD, path: path)
      return buffer.count
    }
    switchSegment(to: newFD, sequence: sequence, size: size)
  }

  /// Creates segment `sequence`, lets `fill` write and sync it (returning its size),
  /// and syncs the directory. On any failure the new file is removed and the log
  /// fails: nothing half-written is left for a later open.
  private func createSegment(
    _ sequence: UInt64, fill: (Int32, String) throws(StorageError) -> Int
  ) throws(StorageError) -> (fd: Int32, size: Int) {
    let path = path(of: sequence)
    let newFD: Int32
    do throws(StorageError) {
      newFD = try FileSystem.open(path, O_WRONLY | O_CREAT | O_TRUNC)
    } catch {
      isFailed = true
      throw error
    }
    do throws(StorageError) {
      let size = try fill(newFD, path)
      if durability == .fsync { try FileSystem.syncDirectory(directory) }
      return (newFD, size)
    } catch {
      _ = close(newFD)
      try? FileSystem.remove(path)
      isFailed = true
      throw error
    }
  }

  private func switchSegment(to newFD: Int32, sequence: UInt64, size: Int) {
    if fd >= 0 { _ = close(fd) }
    fd = newFD
    segmentSequence = sequence
    segmentSize = size
  }

  private func nextSequence() throws(StorageError) -> UInt64 {
    guard segmentSequence < LogSegmentFormat.maxSequence else {
      isFailed = true
      throw .io(path: directory, operation: "create segment", errno: EOVERFLOW)
    }
    return segmentSequence + 1
  }

  private func checkUsable() throws(StorageError) {
    if isFailed { throw .failed(path: segmentPath) }
  }

  /// One counted write call (the only place segment bytes are written).
  private func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String)
    throws(StorageError)
  {
    if let fault = injectedWriteFault {
      injectedWriteFault = nil
      try FileSystem.write(fd, Array(bytes.prefix(fault.bytes)), at: offset, path: path)
      throw .io(path: path, operation: "write", errno: fault.errno)
    }
    try FileSystem.write(fd, bytes, at: offset, path: path)
    writeCount += 1
    bytesWritten += UInt64(bytes.count)
  }

  /// One counted `fdatasync` (none with ``Durability/none``).
  private func syncData(_ fd: Int32, path: String) throws(StorageError) {
    guard durability == .fsync else { return }
    try FileSystem.syncData(fd, path: path)
    syncCount += 1
  }
}
