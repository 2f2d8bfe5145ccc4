import Foundation
public import Logging
public import ServiceLifecycle

/// The first service to hear SIGTERM/SIGINT: readiness turns 503 at once and new
/// generation requests get 503, requests in flight get `grace` seconds to finish, and
/// whatever is left then ends with an explicit error (an SSE error event, or a 503).
public struct DrainService: Service {
    let state: ModelState
    let grace: Double
    let logger: Logger

    /// Creates the service.
    public init(state: ModelState, grace: Double, logger: Logger) {
        self.state = state
        self.grace = grace
        self.logger = logger
    }

    /// Waits for shutdown, then drains.
    public func run() async throws {
        try? await gracefulShutdown()
        let engine = try? state.readyEngine()
        state.beginDraining()
        guard let engine else { return }
        logger.info("draining", metadata: ["grace_seconds": "\(grace)"])
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        while ContinuousClock.now < deadline {
            let s = engine.scheduler.snapshot
            if s.running + s.waiting == 0 { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        let left = engine.scheduler.snapshot
        if left.running + left.waiting > 0 {
            logger.warning("drain grace over; ending requests still in flight",
                           metadata: ["running": "\(left.running)", "waiting": "\(left.waiting)"])
        }
        engine.scheduler.shutdown()
        engine.kvEvents?.shutdown()
    }
}
