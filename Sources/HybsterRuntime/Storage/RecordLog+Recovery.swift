#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Recovery: choosing the chain of segments to replay and repairing the directory so that
/// appends continue right after the recovered records.
///
/// 1. The chain starts at the newest *base* segment whose records verify up to its
///    base-complete marker. Older segments are superseded and removed (a crash during the
///    deletions at the end of ``RecordLog/startBase(_:)`` leaves them).
/// 2. It continues through *continuation* segments with consecutive sequence numbers, up to
///    the first damage. Each segment's frames are verified in order.
/// 3. The newest file alone may show what a crash leaves: a torn or zero-filled tail
///    (truncated away: ``StorageDamage/tornTail(path:offset:)``), a missing header (a crash
///    while creating it: removed, reported as a torn tail at 0), or a base without its
///    marker (removed: ``StorageDamage/incompleteBase(path:)``).
/// 4. Anything else that does not verify is ``StorageDamage/corrupt(path:offset:reason:)``:
///    the damaged segment is copied to `*.corrupt` and truncated before the damage, and
///    every later segment is renamed to `*.corrupt`. Nothing after damage is returned.
extension RecordLog {
  /// The outcome of recovery: what to replay and where appends continue (`nil`: nothing
  /// usable is left; a new base segment after `highest` must be created).
  struct Recovery {
    var recovered: RecoveredLog
    var tail: (sequence: UInt64, size: Int)?
    var highest: UInt64
  }

  /// One segment file, read.
  private struct Segment {
    var bytes: [UInt8]
    var header: LogSegmentFormat.Header
    var scan: LogSegmentFormat.Scan?
  }

  static func recover(directory: String, name: String, durability: Durability)
    throws(StorageError) -> Recovery
  {
    let files: [(sequence: UInt64, path: String)] = try FileSystem.list(directory)
      .compactMap { file in
        LogSegmentFormat.sequence(inFileName: file, name: name).map {
          (sequence: $0, path: directory + "/" + file)
        }
      }
      .sorted { $0.sequence < $1.sequence }
    let last = files.count - 1
    var loaded: [Int: Segment] = [:]

    func header(_ index: Int) throws(StorageError) -> LogSegmentFormat.Header {
      if let segment = loaded[index] { return segment.header }
      let fd = try FileSystem.open(files[index].path, O_RDONLY)
      defer { _ = close(fd) }
      let bytes = try FileSystem.read(
        fd, count: LogSegmentFormat.headerSize, at: 0, path: files[index].path)
      return LogSegmentFormat.readHeader(bytes, sequence: files[index].sequence)
    }

    func load(_ index: Int) throws(StorageError) -> Segment {
      if let segment = loaded[index] { return segment }
      let bytes = try FileSystem.readFile(files[index].path)
      let header = LogSegmentFormat.readHeader(bytes, sequence: files[index].sequence)
      var scan: LogSegmentFormat.Scan?
      if case .valid(let kind) = header {
        scan = LogSegmentFormat.scan(bytes, sequence: files[index].sequence, kind: kind)
      }
      let segment = Segment(bytes: bytes, header: header, scan: scan)
      loaded[index] = segment
      return segment
    }

    // 1. The newest complete base.
    var start: Int?
    for index in files.indices.reversed() where try header(index) == .valid(.base) {
      if try load(index).scan?.baseRecordCount != nil {
        start = index
        break
      }
    }

    var records: [[UInt8]] = []
    var baseRecordCount = 0
    var damage: [StorageDamage] = []
    var directoryChanged = false
    var tail: (sequence: UInt64, size: Int)?

    func remove(_ index: Int) throws(StorageError) {
      try FileSystem.remove(files[index].path)
      directoryChanged = true
    }
    /// Reports `index` as corrupt and renames it and every later segment to `*.corrupt`.
    func setAside(from index: Int, offset: Int, reason: String) throws(StorageError) {
      guard index <= last else { return }
      damage.append(.corrupt(path: files[index].path, offset: UInt64(offset), reason: reason))
      for later in index...last {
        if later > index {
          damage.append(
            .corrupt(
              path: files[later].path, offset: 0,
              reason: "follows damaged segment \(files[index].path)"))
        }
        try FileSystem.rename(files[later].path, to: files[later].path + ".corrupt")
      }
      directoryChanged = true
    }
    /// Cuts segment `index` back to `offset`; with `keepingCopy` the whole file is copied
    /// to `*.corrupt` first.
    func truncate(_ index: Int, to offset: Int, keepingCopy: Bool) throws(StorageError) {
      let path = files[index].path
      if keepingCopy {
        try FileSystem.writeFile(path + ".corrupt", load(index).bytes, durability: durability)
        directoryChanged = true
      }
      let fd = try FileSystem.open(path, O_WRONLY)
      defer { _ = close(fd) }
      try FileSystem.truncate(fd, to: offset, path: path)
      if durability == .fsync { try FileSystem.syncData(fd, path: path) }
    }

    if let start {
      // 2. The chain from the newest complete base.
      for index in 0..<start { try remove(index) }
      var index = start
      chain: while index <= last {
        let isLast = index == last
        let path = files[index].path
        if index > start {
          guard files[index].sequence == files[index - 1].sequence + 1 else {
            try setAside(
              from: index, offset: 0,
              reason: "segment \(files[index - 1].sequence + 1) is missing before it")
            break chain
          }
          switch try header(index) {
          case .valid(.continuation):
            break
          case .missing where isLast:
            damage.append(.tornTail(path: path, offset: 0))
            try remove(index)
            break chain
          case .missing:
            try setAside(from: index, offset: 0, reason: "segment header missing")
            break chain
          case .invalid(let reason):
            try setAside(from: index, offset: 0, reason: reason)
            break chain
          case .valid(.base):
            // Newer than the newest complete base, so it never got its marker.
            let stop = try load(index).scan?.stop
            if isLast && stop?.isTorn ?? true {
              damage.append(.incompleteBase(path: path))
              try remove(index)
            } else {
              try setAside(
                from: index, offset: stop?.offset ?? 0,
                reason: "base segment without base-complete marker")
            }
            break chain
          }
        }
        let segment = try load(index)
        guard let scan = segment.scan else { break chain }
        for range in scan.records { records.append(Array(segment.bytes[range])) }
        if index == start { baseRecordCount = scan.baseRecordCount ?? 0 }
        tail = (files[index].sequence, scan.validEnd)
        defer { loaded[index] = nil }
        if let stop = scan.stop {
          if isLast && stop.isTorn {
            damage.append(.tornTail(path: path, offset: UInt64(stop.offset)))
            try truncate(index, to: stop.offset, keepingCopy: false)
          } else {
            let reason =
              if case .corrupt(_, let reason) = stop { reason } else {
                "truncated record in a sealed segment"
              }
            damage.append(.corrupt(path: path, offset: UInt64(stop.offset), reason: reason))
            try truncate(index, to: stop.offset, keepingCopy: true)
            try setAside(
              from: index + 1, offset: 0, reason: "follows damaged segment \(path)")
          }
          break chain
        }
        index += 1
      }
    } else {
      // No complete base: nothing can be replayed. Classify and set everything aside.
      for index in files.indices {
        let path = files[index].path
        let isLast = index == last
        let kind = try header(index)
        var interruptedBase = false
        if isLast && kind == .valid(.base) {
          interruptedBase = try load(index).scan?.stop?.isTorn ?? true
        }
        switch kind {
        case .missing where isLast:
          damage.append(.tornTail(path: path, offset: 0))
          try remove(index)
        case .valid(.base) where interruptedBase:
          damage.append(.incompleteBase(path: path))
          try remove(index)
        case .valid(.base):
          let stop = try load(index).scan?.stop
          var reason = "base segment without base-complete marker"
          if case .corrupt(_, let why) = stop { reason = why }
          damage.append(
            .corrupt(path: path, offset: UInt64(stop?.offset ?? 0), reason: reason))
          try FileSystem.rename(path, to: path + ".corrupt")
          directoryChanged = true
        case .valid(.continuation):
          damage.append(
            .corrupt(path: path, offset: 0, reason: "no complete base segment precedes it"))
          try FileSystem.rename(path, to: path + ".corrupt")
          directoryChanged = true
        case .missing:
          damage.append(.corrupt(path: path, offset: 0, reason: "segment header missing"))
          try FileSystem.rename(path, to: path + ".corrupt")
          directoryChanged = true
        case .invalid(let reason):
          damage.append(.corrupt(path: path, offset: 0, reason: reason))
          try FileSystem.rename(path, to: path + ".corrupt")
          directoryChanged = true
        }
      }
    }
    if directoryChanged && durability == .fsync { try FileSystem.syncDirectory(directory) }
    return Recovery(
      recovered: RecoveredLog(records: records, baseRecordCount: baseRecordCount, damage: damage),
      tail: tail, highest: files.last?.sequence ?? 0)
  }
}
