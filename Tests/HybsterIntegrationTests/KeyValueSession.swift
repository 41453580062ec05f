import HybsterClient
import HybsterCore
import HybsterRuntime
import HybsterServices
import NIOPosix

/// A key-value client for one test step: connects, runs `body` with a function that
/// submits one operation and decodes its result, and shuts the client down.
enum KeyValueSession {
  static func run<T>(
    _ config: ClusterConfig, credentials: ClientCredentials,
    _ body: (_ run: (KeyValueOperation) async throws -> KeyValueResult) async throws -> T
  ) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let client = HybsterClient(
      config: config, credentials: credentials, lanes: 1,
      eventLoopGroup: group, connectTimeout: .seconds(120))
    try await client.connect()
    let result = try await body { op in
      try KeyValueResult.decode(try await client.submit(op.encode()))
    }
    await client.shutdown()
    try await group.shutdownGracefully()
    return result
  }

  static func key(_ i: Int) -> [UInt8] { Array("key\(i)".utf8) }
  static func value(_ i: Int) -> [UInt8] { Array("value\(i)".utf8) }
}
