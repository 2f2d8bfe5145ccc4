import CorralServer
import Foundation

/// Reads `corral serve`'s settings through their rows of the settings table
/// (`ServeSetting.all`): a flag wins over the `NIM_*` variable, which wins over the
/// default. `ServerConfig.validate` then checks every number against its row's bounds,
/// naming the variable and the flag when it is out.
///
/// Kept rather than swift-configuration: ArgumentParser already owns the flags and their
/// help, so the library would only replace these lookups, while adding a package (and
/// its build time) to every clean build; NIM's variable names are not a key hierarchy either.
enum Environment {
    /// A variable's value, nil when unset or empty.
    static func string(_ name: String) -> String? {
        guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// A text setting: the flag, else the variable; nil when unset or when it names the
    /// default's placeholder word (`auto`, `none`, `model`), as `--help` writes it.
    static func string(_ setting: ServeSetting, flag: String?) -> String? {
        guard let value = flag ?? string(setting.name) else { return nil }
        let placeholder = ["auto", "none", "model"].contains(setting.defaultText)
        return placeholder && value.lowercased() == setting.defaultText ? nil : value
    }

    /// An integer setting; nil when unset (or `auto`, where that is the default). Its
    /// bounds are checked once, with every other setting's, by `ServerConfig.validate`.
    static func int(_ setting: ServeSetting, flag: Int?) throws(ServerConfig.Invalid) -> Int? {
        if let flag { return flag }
        guard let raw = string(setting.name) else { return nil }
        if setting.defaultText == "auto", raw.lowercased() == "auto" { return nil }
        return try setting.int(raw)
    }

    /// An integer setting, or `value` when unset.
    static func int(_ setting: ServeSetting, flag: Int?, default value: Int) throws(ServerConfig.Invalid) -> Int {
        try int(setting, flag: flag) ?? value
    }

    /// A number setting within its bounds (a share is checked here, before it is scaled);
    /// nil when unset or `auto`.
    static func double(_ setting: ServeSetting, flag: Double?) throws(ServerConfig.Invalid) -> Double? {
        let raw = flag.map { "\($0)" } ?? string(setting.name)
        guard let raw, raw.lowercased() != "auto" else { return nil }
        guard let value = Double(raw) else {
            throw ServerConfig.Invalid(description: "\(setting.name)=\(raw) (\(setting.option)) is not a number")
        }
        try setting.check(value, as: raw)
        return value
    }

    /// An on/off setting: a bare flag, 1/true/yes/on or 0/false/no/off.
    static func bool(_ setting: ServeSetting, flag: Toggle?, default value: Bool) throws(ServerConfig.Invalid) -> Bool {
        if let flag { return flag.value }
        guard let raw = string(setting.name) else { return value }
        return try setting.bool(raw)
    }

    /// `raw` as one of an enum's cases, or an error listing the accepted values.
    static func choice<E: RawRepresentable & CaseIterable>(_ raw: String, as: E.Type, setting: ServeSetting)
        throws(ServerConfig.Invalid) -> E where E.RawValue == String {
        guard let value = E(rawValue: raw) else {
            throw ServerConfig.Invalid(description: "\(setting.name) (\(setting.option)) must be one of "
                                       + "\(E.allCases.map(\.rawValue).joined(separator: ", ")), not \(raw)")
        }
        return value
    }
}
