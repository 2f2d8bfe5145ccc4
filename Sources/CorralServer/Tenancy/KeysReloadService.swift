public import Logging
public import ServiceLifecycle
import UnixSignals

/// Re-reads the API keys file on SIGHUP: new keys, tenants and limits apply to the next
/// request. A file that does not parse keeps the keys in force, and the log says why.
public struct KeysReloadService: Service {
    let keys: KeyStore
    let logger: Logger

    /// Creates the service.
    public init(keys: KeyStore, logger: Logger) {
        self.keys = keys
        self.logger = logger
    }

    /// Reloads on each SIGHUP until shutdown.
    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals { keys.reload(logger: logger) }
        }
    }
}
