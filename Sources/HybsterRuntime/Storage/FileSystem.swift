#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The few POSIX calls the storage engine makes, each turned into a typed
/// ``StorageError/io(path:operation:errno:)`` naming the file and the call. Nothing here
/// knows about formats.
enum FileSystem {
  /// Whether `name` can be used as (part of) a file name: not empty, no `/`, no NUL.
  static func isValidName(_ name: String) -> Bool {
    !name.isEmpty && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
  }

  /// `open(2)`, retried on `EINTR`; always `O_CLOEXEC`.
  static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(StorageError)
    -> Int32
  {
    while true {
      #if canImport(Glibc)
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
      #else
        let fd = Darwin.open(path, flags | O_CLOEXEC, mode)
      #endif
      if fd >= 0 { return fd }
      if errno == EINTR { continue }
      throw .io(path: path, operation: "open", errno: errno)
    }
  }

  /// Writes all of `bytes` at `offset` with as few `pwrite(2)` calls as the kernel allows
  /// (one, unless it returns a short count).
  static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String)
    throws(StorageError)
  {
    var done = 0
    while done < bytes.count {
      let written = pwrite(
        fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
      if written < 0 {
        if errno == EINTR { continue }
        throw .io(path: path, operation: "write", errno: errno)
      }
      if written == 0 { throw .io(path: path, operation: "write", errno: EIO) }
      done += written
    }
  }

  /// Writes all of `bytes` at `offset`.
  static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String)
    throws(StorageError)
  {
    if bytes.isEmpty { return }
    var failure: StorageError?
    bytes.withUnsafeBytes { raw in
      do throws(StorageError) { try write(fd, raw, at: offset, path: path) } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  /// Reads up to `count` bytes at `offset`: fewer only if the file ends first. The caller has
  /// checked `count` against the file's real size.
  static func read(_ fd: Int32, count: Int, at offset: Int, path: String) throws(StorageError)
    -> [UInt8]
  {
    var failure: StorageError?
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      var done = 0
      while done < count {
        let got = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
        if got < 0 {
          if errno == EINTR { continue }
          failure = .io(path: path, operation: "read", errno: errno)
          break
        }
        if got == 0 { break }
        done += got
      }
      initialized = done
    }
    if let failure { throw failure }
    return bytes
  }

  /// The whole file at `path`, sized by `fstat` (a real size, never a length read from the
  /// file).
  static func readFile(_ path: String) throws(StorageError) -> [UInt8] {
    let fd = try open(path, O_RDONLY)
    defer { close(fd) }
    // If the file shrank meanwhile (nobody else should write it), what is there is returned.
    return try read(fd, count: try fileSize(fd, path: path), at: 0, path: path)
  }

  /// The size of an open file.
  static func fileSize(_ fd: Int32, path: String) throws(StorageError) -> Int {
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .io(path: path, operation: "fstat", errno: errno) }
    return Int(info.st_size)
  }

  /// Writes `bytes` as the whole new content of `path` (created or truncated).
  static func writeFile(_ path: String, _ bytes: [UInt8], durability: Durability)
    throws(StorageError)
  {
    let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC)
    defer { close(fd) }
    try write(fd, bytes, at: 0, path: path)
    if durability == .fsync { try syncFile(fd, path: path) }
  }

  /// `fdatasync(2)`: the data and the metadata needed to read it back (the size).
  static func syncData(_ fd: Int32, path: String) throws(StorageError) {
    #if canImport(Glibc)
      guard fdatasync(fd) == 0 else {
        throw .io(path: path, operation: "fdatasync", errno: errno)
      }
    #else
      try syncFile(fd, path: path)
    #endif
  }

  /// `fsync(2)`.
  static func syncFile(_ fd: Int32, path: String) throws(StorageError) {
    guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
  }

  /// `fsync(2)` of a directory, which makes entries created, renamed or removed in it durable.
  static func syncDirectory(_ path: String) throws(StorageError) {
    let fd = try open(path, O_RDONLY | O_DIRECTORY)
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
  }

  /// `ftruncate(2)`.
  static func truncate(_ fd: Int32, to size: Int, path: String) throws(StorageError) {
    guard ftruncate(fd, off_t(size)) == 0 else {
      throw .io(path: path, operation: "ftruncate", errno: errno)
    }
  }

  /// `rename(2)`.
  static func rename(_ from: String, to: String) throws(StorageError) {
    #if canImport(Glibc)
      let result = Glibc.rename(from, to)
    #else
      let result = Darwin.rename(from, to)
    #endif
    guard result == 0 else { throw .io(path: from, operation: "rename", errno: errno) }
  }

  /// `unlink(2)`; a file that is already gone is not an error.
  static func remove(_ path: String) throws(StorageError) {
    guard unlink(path) == 0 || errno == ENOENT else {
      throw .io(path: path, operation: "unlink", errno: errno)
    }
  }

  /// The names in `directory`, without `.` and `..`.
  static func list(_ directory: String) throws(StorageError) -> [String] {
    guard let handle = opendir(directory) else {
      throw .io(path: directory, operation: "opendir", errno: errno)
    }
    defer { closedir(handle) }
    var names: [String] = []
    while true {
      errno = 0
      guard let entry = readdir(handle) else {
        if errno != 0 { throw .io(path: directory, operation: "readdir", errno: errno) }
        return names
      }
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
  }

  /// Creates `path` and missing parents (`mkdir -p`); with ``Durability/fsync`` the parent
  /// of each directory created is fsync'd so the new entry survives a crash.
  static func makeDirectory(_ path: String, durability: Durability) throws(StorageError) {
    var info = stat()
    if stat(path, &info) == 0 {
      guard info.st_mode & S_IFMT == S_IFDIR else {
        throw .io(path: path, operation: "mkdir", errno: ENOTDIR)
      }
      return
    }
    let parent = parentDirectory(of: path)
    if parent != path { try makeDirectory(parent, durability: durability) }
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
      throw .io(path: path, operation: "mkdir", errno: errno)
    }
    if durability == .fsync { try syncDirectory(parent) }
  }

  /// The directory containing `path` (`"."` for a bare name, `"/"` for the root).
  static func parentDirectory(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
  }
}
