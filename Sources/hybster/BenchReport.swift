import Foundation
import Histogram

/// The result of a closed-loop run (`bench`, `local`): throughput and latency over the
/// measurement window, which excludes the warmup.
struct BenchReport: Codable, Sendable {
  /// Completed requests per second in the measurement window.
  var throughputOpsPerSecond: Double
  /// Latency percentiles in milliseconds.
  var latencyP50: Double
  var latencyP90: Double
  var latencyP99: Double
  var latencyMax: Double
  var latencyMean: Double
  /// Requests that completed successfully in the measurement window.
  var requestsOK: Int
  /// Requests that failed in the measurement window.
  var errors: Int
  /// Client retransmissions in the measurement window.
  var retransmissions: Int
  /// The load: clients, requests outstanding per client, operation size in bytes.
  var clients: Int
  var outstanding: Int
  var payload: Int
  /// The measurement window and the warmup before it, seconds.
  var durationSeconds: Double
  var warmupSeconds: Double
  /// Cluster facts `local` knows (absent for `bench`).
  var replicas: Int?
  var batch: Int?
  var pillars: Int?
  var rotatingLeaders: Bool?
  /// Whether the replicas fsync'd their journals and snapshots (issue 12).
  var durability: String?
  /// How the replicas authenticated client requests: signatures or macs (issue 13).
  var clientAuthentication: String?

  enum CodingKeys: String, CodingKey {
    case throughputOpsPerSecond = "throughput_ops_s"
    case latencyP50 = "latency_ms_p50"
    case latencyP90 = "latency_ms_p90"
    case latencyP99 = "latency_ms_p99"
    case latencyMax = "latency_ms_max"
    case latencyMean = "latency_ms_mean"
    case requestsOK = "requests_ok"
    case errors
    case retransmissions
    case clients
    case outstanding
    case payload
    case durationSeconds = "duration_s"
    case warmupSeconds = "warmup_s"
    case replicas
    case batch
    case pillars
    case rotatingLeaders = "rotating_leaders"
    case durability
    case clientAuthentication = "client_auth"
  }

  /// Builds a report from a latency histogram recorded in microseconds.
  init(
    latencyMicroseconds histogram: Histogram<UInt64>, requestsOK: Int, errors: Int,
    retransmissions: Int, settings: LoadSettings
  ) {
    let empty = histogram.totalCount == 0
    func ms(_ microseconds: UInt64) -> Double { Self.rounded(Double(microseconds) / 1000) }
    throughputOpsPerSecond = Self.rounded(Double(requestsOK) / settings.duration)
    latencyP50 = empty ? 0 : ms(histogram.valueAtPercentile(50))
    latencyP90 = empty ? 0 : ms(histogram.valueAtPercentile(90))
    latencyP99 = empty ? 0 : ms(histogram.valueAtPercentile(99))
    latencyMax = empty ? 0 : ms(histogram.max)
    latencyMean = empty ? 0 : Self.rounded(histogram.mean / 1000)
    self.requestsOK = requestsOK
    self.errors = errors
    self.retransmissions = retransmissions
    clients = settings.clients
    outstanding = settings.outstanding
    payload = settings.payload
    durationSeconds = settings.duration
    warmupSeconds = settings.warmup
  }

  /// The human-readable summary.
  var summary: String {
    func f(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }
    var cluster = ""
    if let replicas { cluster += "\(replicas) replicas, " }
    if let pillars { cluster += "\(pillars) pillar\(pillars == 1 ? "" : "s") each, " }
    if rotatingLeaders == true { cluster += "rotating leaders, " }
    if let batch { cluster += "batch \(batch), " }
    if let durability { cluster += "durability \(durability), " }
    if let clientAuthentication { cluster += "client auth \(clientAuthentication), " }
    return """
      \(cluster)\(clients) clients × \(outstanding) outstanding, payload \(payload) B, \
      \(f(durationSeconds, 1)) s measured after \(f(warmupSeconds, 1)) s warmup
        throughput  \(f(throughputOpsPerSecond, 1)) ops/s
        latency ms  p50 \(f(latencyP50))  p90 \(f(latencyP90))  p99 \(f(latencyP99))  \
      max \(f(latencyMax))  mean \(f(latencyMean))
        requests    \(requestsOK) ok, \(errors) errors, \(retransmissions) retransmissions
      """
  }

  /// The report as one line of JSON.
  func jsonLine() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(self) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
  }

  /// Prints the summary and, with `json`, the JSON line last.
  func print(json: Bool) {
    Swift.print(summary)
    if json { Swift.print(jsonLine()) }
  }

  private static func rounded(_ value: Double) -> Double {
    (value * 1000).rounded() / 1000
  }
}
