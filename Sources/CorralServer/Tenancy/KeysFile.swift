/// A tenant: who a key belongs to, and the limits and share the operator gives it.
public struct Tenant: Sendable, Equatable {
    /// Its name, a metric label (letters, digits, `_`, `-`, `.`; at most 64).
    public var name: String
    /// Its share of the machine under contention, relative to the others' (`weight=`).
    public var weight = 1.0
    /// Its requests' default priority (lower runs first); a request may ask for a lower
    /// one (a larger number), never a higher one (`priority=`).
    public var priority = 0
    /// Most of its requests (choices) running plus waiting (`max_concurrency=`).
    public var maxConcurrency: Int?
    /// Prompt plus output tokens per minute, as a token bucket (`tokens_per_minute=`).
    public var tokensPerMinute: Int?
    /// Sees every tenant's usage in `/v1/usage` (`admin=1`).
    public var admin = false

    /// A tenant with the defaults: weight 1, priority 0, no limits.
    public init(name: String) { self.name = name }

    /// The tenant of a key given alone on its line, and of every request when no keys
    /// file is set.
    public static let defaultName = "default"
}

/// `NIM_API_KEYS_FILE`: one key per line, alone (tenant `default`) or followed by a tenant
/// name and `key=value` options. Blank lines and `#` comments are skipped. A tenant named on
/// several lines has one set of options: the first line that gives any.
public struct KeysFile: Sendable {
    /// Each key, as bytes for a constant-time compare, and its tenant's name.
    public let keys: [(key: [UInt8], tenant: String)]
    /// The tenants, by name.
    public let tenants: [String: Tenant]

    /// Why a keys file cannot be used. It never holds a key.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        /// One line, naming the line number.
        public let description: String
    }

    /// Reads `text`.
    /// - Throws: `Problem` naming the first malformed line (by number, never by content).
    public init(parsing text: String) throws(Problem) {
        var keys: [(key: [UInt8], tenant: String)] = []
        var tenants: [String: Tenant] = [:]
        var optionsGiven: Set<String> = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let fields = raw.split(whereSeparator: \.isWhitespace).map(String.init)
            guard let key = fields.first, !key.hasPrefix("#") else { continue }
            let name = fields.count > 1 ? fields[1] : Tenant.defaultName
            guard Self.validName(name) else {
                throw Problem(description: "line \(line): a tenant name is 1 to 64 letters, digits, '_', '-' or '.'")
            }
            var tenant = tenants[name] ?? Tenant(name: name)
            let options = Array(fields.dropFirst(2))
            if !options.isEmpty {
                guard !optionsGiven.contains(name) else {
                    throw Problem(description: "line \(line): tenant \(name) already has options on an earlier line")
                }
                for option in options { try Self.apply(option, to: &tenant, line: line) }
                optionsGiven.insert(name)
            }
            guard !keys.contains(where: { $0.key == Array(key.utf8) }) else {
                throw Problem(description: "line \(line): this key is already on an earlier line")
            }
            tenants[name] = tenant
            keys.append((Array(key.utf8), name))
        }
        guard !keys.isEmpty else { throw Problem(description: "the file holds no key") }
        self.keys = keys
        self.tenants = tenants
    }

    private static func validName(_ name: String) -> Bool {
        (1...64).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }

    private static func apply(_ option: String, to tenant: inout Tenant, line: Int) throws(Problem) {
        let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw Problem(description: "line \(line): an option is key=value, not '\(option)'") }
        let (name, value) = (parts[0], parts[1])
        func bad(_ why: String) -> Problem { Problem(description: "line \(line): \(name) \(why)") }
        switch name {
        case "weight":
            guard let w = Double(value), w > 0, w.isFinite else { throw bad("must be a number above 0") }
            tenant.weight = w
        case "priority":
            guard let p = Int(value) else { throw bad("must be an integer") }
            tenant.priority = p
        case "max_concurrency":
            guard let n = Int(value), n >= 1 else { throw bad("must be an integer of at least 1") }
            tenant.maxConcurrency = n
        case "tokens_per_minute":
            guard let n = Int(value), n >= 1 else { throw bad("must be an integer of at least 1") }
            tenant.tokensPerMinute = n
        case "admin":
            guard ["0", "1", "true", "false"].contains(value) else { throw bad("must be 0 or 1") }
            tenant.admin = value == "1" || value == "true"
        default:
            throw Problem(description: "line \(line): unknown option '\(name)' (weight, priority, max_concurrency, tokens_per_minute, admin)")
        }
    }

    /// The tenant whose key is `candidate`, comparing against every key in constant time.
    public func tenant(forKey candidate: [UInt8]) -> Tenant? {
        var found: String?
        for (key, name) in keys where key.count == candidate.count {
            var diff: UInt8 = 0
            for (a, b) in zip(key, candidate) { diff |= a ^ b }
            if diff == 0 { found = name }
        }
        return found.flatMap { tenants[$0] }
    }
}
