import Foundation

/// One row of the settings table: a `NIM_*` variable, its `corral serve` flag, its default
/// as `--help`, the README and `/v1/metadata` write it, its bounds, and its help. The flags'
/// declarations, their help, every bounds check and `/v1/metadata`'s `settings` read these
/// rows, so a setting has one name, one default and one range everywhere.
public struct ServeSetting: Sendable, Hashable {
    /// The environment variable, `NIM_…`.
    public let name: String
    /// The long flag without its dashes (`kv-cache-tokens`).
    public let flag: String
    /// The default as written: a number, a word, or `auto` when the engine works it out.
    public let defaultText: String
    /// The accepted range of a number (integers and shares alike).
    public let bounds: ClosedRange<Double>?
    /// What it does, one sentence, without the variable and default (added by `help`).
    public let summary: String
    /// Whether it is on/off (a bare flag, `true`/`false` or `1`/`0`).
    public let isToggle: Bool
    /// Whether `/v1/metadata`'s `settings` leaves it out: process-level concerns (logging,
    /// TLS, histogram bounds), secrets and file paths of secrets.
    public let processOnly: Bool

    /// Creates a row; see each property.
    public init(_ name: String, flag: String, default defaultText: String, bounds: ClosedRange<Double>? = nil,
                toggle: Bool = false, processOnly: Bool = false, _ summary: String) {
        self.name = name
        self.flag = flag
        self.defaultText = defaultText
        self.bounds = bounds
        self.summary = summary
        self.isToggle = toggle
        self.processOnly = processOnly
    }

    /// The `--help` text: the summary, then the variable and the default.
    public var help: String {
        let values = isToggle ? "; a bare flag, 1/0 or true/false" : ""
        return "\(summary) (\(name); default \(defaultText)\(values))."
    }

    /// The flag as typed, `--kv-cache-tokens`.
    public var option: String { "--" + flag }

    /// Checks a number against `bounds`, naming the variable and the flag when it is out.
    public func check(_ value: Double, as text: String) throws(ServerConfig.Invalid) {
        guard let bounds, !bounds.contains(value) else { return }
        throw ServerConfig.Invalid(description:
            "\(name)=\(text) (\(option)) must be between \(Self.format(bounds.lowerBound)) and \(Self.format(bounds.upperBound))")
    }

    /// An integer setting from its text; its bounds are checked once, by
    /// `ServerConfig.validate`.
    public func int(_ text: String) throws(ServerConfig.Invalid) -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ServerConfig.Invalid(description: "\(name)=\(text) (\(option)) is not an integer")
        }
        return value
    }

    /// A boolean setting from its text: 1/true/yes/on or 0/false/no/off.
    public func bool(_ text: String) throws(ServerConfig.Invalid) -> Bool {
        guard let value = Self.toggle(text) else {
            throw ServerConfig.Invalid(description: "\(name)=\(text) (\(option)) is not on or off (use 1 or 0, true or false)")
        }
        return value
    }

    /// 1/true/yes/on or 0/false/no/off, in any case; nil for anything else.
    public static func toggle(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off": false
        default: nil
        }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
