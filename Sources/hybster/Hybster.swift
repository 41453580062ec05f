import ArgumentParser

@main
struct Hybster: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hybster",
    abstract: "Hybster: hybrid Byzantine fault-tolerant state-machine replication (EuroSys 2017).",
    subcommands: [
      LocalCommand.self, ConfigCommand.self, ClientCommand.self, ReplicaCommand.self,
      BenchCommand.self, KVCommand.self,
      SimulateCommand.self, ExploreCommand.self, CoreBenchCommand.self, PillarBenchCommand.self,
      TrInXBenchCommand.self,
    ]
  )
}
