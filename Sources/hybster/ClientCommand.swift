import ArgumentParser
import Foundation
import HybsterCore
import HybsterRuntime

/// `hybster client`: client identities (issue 13).
struct ClientCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "client",
    abstract: "Create and revoke client identities.",
    subcommands: [ClientNewCommand.self, ClientRevokeCommand.self]
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
      one at a time; revoke it with `hybster client revoke` the same way. Every replica must \
      admit the same clients: replicas that do not refuse to talk to each other.
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

/// `hybster client revoke --pub DIR/alice.pub`: marks a client revoked in its public
/// key file. The file stays, so that the client's earlier requests still check out
/// when a replica replays its log.
struct ClientRevokeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "revoke",
    abstract: "Revoke a client: mark its public key file in a clients directory revoked.",
    discussion: """
      Do it in every replica's clients directory and restart the replicas one at a time. \
      A revoked client cannot connect and no correct replica orders a request of it again. \
      Do not delete a client's .pub file instead: a replica that replays its log after a \
      restart must still be able to check the client's earlier requests.
      """
  )

  @Option(help: "The client's public key file in a clients directory.")
  var pub: String

  func run() async throws {
    try await reportingErrors {
      let id = try ClientDirectoryFiles.revoke(at: pub)
      print("revoked client \(id) in \(pub); restart the replicas one at a time")
    }
  }
}
