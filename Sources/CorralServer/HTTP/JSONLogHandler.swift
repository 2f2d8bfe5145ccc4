import Foundation
public import Logging

/// A swift-log handler that writes one JSON object per line to standard error
/// (`NIM_JSONL_LOGGING=1`), for log pipelines that parse structured lines.
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// The minimum level written.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]

    /// Creates a handler for `label`.
    public init(label: String) { self.label = label }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var object: [String: String] = [
            "ts": ISO8601DateFormatter.shared.string(from: Date()),
            "level": event.level.rawValue,
            "logger": label,
            "msg": "\(event.message)",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }
}

extension ISO8601DateFormatter {
    /// One formatter for all lines (they are costly to create).
    nonisolated(unsafe) static let shared: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}
