import ArgumentParser
import CorralServer

/// An on/off option's value as users type it: `1`/`0`, `true`/`false`, `yes`/`no`,
/// `on`/`off`. A bare flag and vLLM's `--no-…` spelling are rewritten into these before
/// parsing (`expandingToggles`), since ArgumentParser's options always take a value.
struct Toggle: ExpressibleByArgument, Sendable {
    let value: Bool

    init?(argument: String) {
        guard let value = ServeSetting.toggle(argument) else { return nil }
        self.value = value
    }

    /// The arguments with every on/off flag given a value: a bare `--enable-kv-cache-reuse`
    /// becomes `--enable-kv-cache-reuse true`, `--no-enable-kv-cache-reuse` becomes
    /// `--enable-kv-cache-reuse false`; values already given stay as they are.
    static func expandingToggles(_ arguments: [String]) -> [String] {
        let toggles = Set(ServeSetting.all.filter(\.isToggle).map(\.option))
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                out += arguments[(index - 1)...]
                break
            }
            if argument.hasPrefix("--no-"), toggles.contains("--" + argument.dropFirst(5)) {
                out += ["--" + argument.dropFirst(5), "false"]
            } else if toggles.contains(argument),
                      index >= arguments.count || ServeSetting.toggle(arguments[index]) == nil {
                out += [argument, "true"]
            } else {
                out.append(argument)
            }
        }
        return out
    }
}
