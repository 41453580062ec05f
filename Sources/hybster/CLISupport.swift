import ArgumentParser
import Foundation
import HybsterCore
import HybsterRuntime
import Logging

/// A failure the CLI reports as a single `error: ...` line on stderr, followed by a
/// non-zero exit — never a stack trace.
struct CLIError: Error, CustomStringConvertible {
  /// What went wrong, for the user.
  var description: String

  init(_ description: String) { self.description = description }
}

/// Output helpers: results go to stdout, diagnostics and progress to stderr (so a
/// `--json` line stays the last line of stdout).
enum Console {
  /// Writes `text` and a newline to stderr, unbuffered.
  static func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
  }

  /// Writes `error: <text>` to stderr.
  static func error(_ text: String) {
    note("error: " + text)
  }
}

/// Runs a command body, turning every failure into one `error: ...` line and exit
/// status 1 (130 for an interrupted run). Argument-parser exits pass through.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let exit as ExitCode {
    throw exit
  } catch is CancellationError {
    Console.error("interrupted")
    throw ExitCode(130)
  } catch let error as ConfigError {
    Console.error(error.description)
    throw ExitCode.failure
  } catch let error as CLIError {
    Console.error(error.description)
    throw ExitCode.failure
  } catch {
    Console.error(String(describing: error))
    throw ExitCode.failure
  }
}

/// File locations shared by the commands.
enum Paths {
  /// The directory that holds `path` (`.` for a bare file name).
  static func directory(of path: String) -> String {
    let directory = (path as NSString).deletingLastPathComponent
    return directory.isEmpty ? "." : directory
  }

  /// `client.key` beside the configuration unless `explicit` is given.
  static func clientKey(explicit: String?, config: String) -> String {
    explicit ?? ClusterSetup.clientKeyPath(in: directory(of: config))
  }

  /// `path` made absolute against the current directory.
  static func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    return FileManager.default.currentDirectoryPath + "/" + path
  }
}

/// Loads a client's key file and makes its credentials towards `config`.
func loadCredentials(path: String, config: ClusterConfig) throws -> ClientCredentials {
  try config.credentials(for: try ClientKeyFile.load(from: path))
}

/// A human-readable name of a service kind.
func describe(_ service: ServiceKind) -> String {
  switch service {
  case .microbenchmark(let replySize): "microbenchmark (reply \(replySize) B)"
  case .keyValue: "key-value store"
  }
}

/// Client-side commands log only warnings and worse, to stderr, so that progress and
/// results stay readable.
func bootstrapClientLogging() {
  LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
  }
}

extension Durability: ExpressibleByArgument {}
