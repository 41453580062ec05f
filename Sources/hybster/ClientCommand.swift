import ArgumentParser
import Foundation
import HybsterCore
import HybsterRuntime

/// `hybster client`: client identities (issue 13).
struct ClientCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "client",
    abstract: "Create client identities.",
    subcommands: [ClientNewCommand.self]
  )
}

/// `hybster client new --out alice.key`: a fresh Ed25519 + X25519 key pair, its
/// private key file and its public key file, which admits the client once copied
/// into the clients directory of every replica.
struct ClientNewCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "new",
    abstract: "Create a client key (NAME.key, private) and its public key (NAME.pub).",
    discussion: """
      Admit the client by copying NAME.pub into the clients directory of every replica \
      (`clients` in cluster.json, default: clients/ next to it) and restarting the replicas \
      one at a time; revoke it by removing the file the same way. Every replica must admit \
      the same clients: replicas that do not refuse to talk to each other.
      """
  )

  @Option(help: "The private key file to write; the public key goes next to it as .pub.")
  var out: String

  @Option(help: "Also admit the client: copy its public key into this clients directory.")
  var admit: String?

  @Flag(help: "Overwrite an existing key file.")
  var force = false

  func run() async throws {
    try await reportingErrors {
      if !force, FileManager.default.fileExists(atPath: out) {
        throw CLIError("\(out) already exists; pass --force to replace it")
      }
      let secret = ClientSecretKeys.generate()
      let publicPath: String
      do {
        publicPath = try ClusterSetup.writeClient(secret, to: out)
      } catch {
        throw CLIError("cannot write \(out): \(error.localizedDescription)")
      }
      print("wrote \(out): client \(secret.publicKeys.id)'s private keys (keep them private)")
      print("wrote \(publicPath): its public keys")
      if let admit {
        let name = URL(fileURLWithPath: publicPath).deletingPathExtension().lastPathComponent
        do {
          try ClientDirectoryFiles.admit(secret.publicKeys, name: name, in: admit)
        } catch {
          throw CLIError("cannot write into \(admit): \(error.localizedDescription)")
        }
        print("admitted it in \(admit)/\(name).pub; restart the replicas one at a time")
      } else {
        print("admit it: copy \(publicPath) into every replica's clients directory")
      }
    }
  }
}
