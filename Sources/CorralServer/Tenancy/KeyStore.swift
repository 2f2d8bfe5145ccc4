import Foundation
public import Hummingbird
public import Logging
import Synchronization

/// The keys file in force, swapped whole when it is re-read (SIGHUP). A file that does not
/// parse leaves the one in force as it is.
public final class KeyStore: Sendable {
    private let file: Mutex<KeysFile>
    /// Where the keys came from.
    public let path: String

    /// Reads `path`.
    /// - Throws: `KeysFile.Problem` (naming the line) or the read error.
    public init(path: String) throws {
        self.path = path
        file = Mutex(try Self.read(path))
    }

    private static func read(_ path: String) throws -> KeysFile {
        try KeysFile(parsing: try String(contentsOfFile: path, encoding: .utf8))
    }

    /// Re-reads the file; on any problem keeps the keys in force and logs why.
    /// - Returns: whether the new file is now in force.
    @discardableResult
    public func reload(logger: Logger) -> Bool {
        do {
            let new = try Self.read(path)
            file.withLock { $0 = new }
            logger.info("reloaded the API keys file", metadata: ["keys": "\(new.keys.count)", "tenants": "\(new.tenants.count)"])
            return true
        } catch {
            logger.error("kept the API keys in force: the new file cannot be used", metadata: ["reason": "\(error)"])
            return false
        }
    }

    /// The tenant of a request's `Authorization: Bearer` key; nil when it has none or a wrong one.
    public func tenant(for request: Request) -> Tenant? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let key = Array(header.utf8.dropFirst(7))
        return file.withLock { $0.tenant(forKey: key) }
    }

    /// Every tenant in force.
    public var tenants: [String: Tenant] { file.withLock { $0.tenants } }
}
