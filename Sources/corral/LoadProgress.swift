import Foundation
import Logging
import Synchronization

/// Logs a model's load at every tenth once it has taken more than a second, so a large
/// model's minutes of loading are not silent while a small one's stay quiet; the engine
/// calls back far more often than that.
final class LoadProgress: Sendable {
    private let logger: Logger
    private let state = Mutex<(start: Date?, lastTenth: Int)>((nil, -1))

    init(logger: Logger) { self.logger = logger }

    /// Takes the engine's share done (0 to 1).
    @Sendable func report(_ share: Double) {
        let tenth = Int(share * 10)
        let log = state.withLock { s in
            let start = s.start ?? Date()
            s.start = start
            guard tenth > s.lastTenth, Date().timeIntervalSince(start) >= 1 else { return false }
            s.lastTenth = tenth
            return true
        }
        if log { logger.info("loading weights", metadata: ["done": "\(tenth * 10)%"]) }
    }
}
