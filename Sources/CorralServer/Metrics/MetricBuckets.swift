import CorralCore
import Foundation

/// Histogram bucket bounds for the latency metrics. The defaults reach far below vLLM's
/// (nothing under 300 ms for end-to-end latency there): a small model on a GPU answers in
/// tens of milliseconds, and its inter-token latency is a few.
public struct MetricBuckets: Sendable, Equatable {
    /// Seconds, for time to first token and queue time (`NIM_METRICS_TTFT_BUCKETS`).
    public var timeToFirstToken: [Double]
    /// Seconds, for time per output token and step duration (`NIM_METRICS_ITL_BUCKETS`).
    public var interTokenLatency: [Double]
    /// Seconds, for end-to-end request latency (`NIM_METRICS_E2E_BUCKETS`).
    public var endToEnd: [Double]

    /// The defaults: 1 ms upwards for TTFT and ITL, 50 ms upwards for end to end.
    public static let `default` = MetricBuckets(
        timeToFirstToken: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                           1, 2.5, 5, 7.5, 10, 20, 40, 80],
        interTokenLatency: [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
                            0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5],
        endToEnd: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960])

    /// Token counts, for prompt and generation lengths: 1, 2, 5, 10, … up to 1M.
    static let tokenCounts: [Double] = (0...6).flatMap { e -> [Double] in
        let scale = (0..<e).reduce(1.0) { acc, _ in acc * 10 }
        return [1, 2, 5].map { $0 * scale }
    }

    /// Powers of two up to `limit`, for tokens and sequences per step.
    static func powersOfTwo(upTo limit: Int) -> [Double] {
        var bounds: [Double] = []
        var b = 1
        while b < limit { bounds.append(Double(b)); b *= 2 }
        return bounds + [Double(limit)]
    }

    /// Creates bucket sets.
    public init(timeToFirstToken: [Double], interTokenLatency: [Double], endToEnd: [Double]) {
        self.timeToFirstToken = timeToFirstToken
        self.interTokenLatency = interTokenLatency
        self.endToEnd = endToEnd
    }

    /// Parses `"0.001,0.01,0.1"`: positive, strictly increasing seconds.
    /// - Throws: a one-line explanation naming `setting`.
    public static func parse(_ text: String, setting: String) throws(BucketError) -> [Double] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var bounds: [Double] = []
        for part in parts {
            guard let value = Double(part), value.isFinite, value > 0 else {
                throw BucketError(message: "\(setting): '\(part)' is not a positive number of seconds")
            }
            if let last = bounds.last, value <= last {
                throw BucketError(message: "\(setting): bounds must increase (\(value) after \(last))")
            }
            bounds.append(value)
        }
        guard !bounds.isEmpty else { throw BucketError(message: "\(setting): give at least one bound") }
        return bounds
    }

    /// A bucket list that could not be parsed.
    public struct BucketError: Error, CustomStringConvertible {
        /// One line for the operator.
        public let message: String
        /// The message.
        public var description: String { message }
    }
}
