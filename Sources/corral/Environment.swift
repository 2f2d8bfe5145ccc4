import Foundation

/// Reads `NIM_*` settings: a flag wins over the environment, which wins over the default
/// (the defaults are `ServeDefaults`, and validation is `ServerConfig.validate`).
///
/// Kept rather than swift-configuration: ArgumentParser already owns the flags and their
/// help, so the library would only replace these three lookups, while adding a package (and
/// its build time) to every clean build; NIM's variable names are not a key hierarchy either.
enum Environment {
    static func string(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// An integer setting, refusing garbage with a one-line explanation.
    static func int(_ name: String, flag: Int?, default value: Int) throws -> Int {
        if let flag { return flag }
        guard let raw = string(name) else { return value }
        guard let parsed = Int(raw) else { throw ConfigError("\(name)=\(raw) is not an integer") }
        return parsed
    }

    /// A boolean setting: 1/true/yes/on or 0/false/no/off.
    static func bool(_ name: String, flag: Bool?, default value: Bool) throws -> Bool {
        if let flag { return flag }
        guard let raw = string(name)?.lowercased() else { return value }
        switch raw {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigError("\(name)=\(raw) is not a boolean (use 1 or 0)")
        }
    }
}

extension Environment {
    /// `raw` as one of an enum's cases, or an error listing the accepted values.
    static func choice<E: RawRepresentable & CaseIterable>(_ raw: String, as: E.Type, what: String) throws(ConfigError) -> E
        where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw ConfigError("\(what) must be one of \(E.allCases.map(\.rawValue).joined(separator: ", ")), not \(raw)")
        }
        return value
    }
}

/// A configuration value that cannot be used; the message is the whole explanation.
struct ConfigError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
