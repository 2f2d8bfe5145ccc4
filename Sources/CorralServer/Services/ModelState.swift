import Synchronization

/// Whether the server can take generation requests: loading, ready, failed or draining.
/// Health routes read it; the loader and the drain sequence write it.
public final class ModelState: Sendable {
    /// The phases a server goes through.
    public enum Phase: Sendable {
        /// Weights are loading or warm-up is running.
        case loading
        /// Serving.
        case ready(ServingEngine)
        /// The model could not be loaded.
        case failed(String)
        /// Shutting down: in-flight requests finish, new ones get 503.
        case draining(ServingEngine?)
    }

    private let phase = Mutex<Phase>(.loading)

    /// Creates a state in `.loading`.
    public init() {}

    /// The current phase.
    public var current: Phase { phase.withLock { $0 } }

    /// Moves to `next`.
    public func set(_ next: Phase) { phase.withLock { $0 = next } }

    /// Moves from loading to ready; false (and no change) when a drain began meanwhile.
    public func markReady(_ engine: ServingEngine) -> Bool {
        phase.withLock { p in
            guard case .loading = p else { return false }
            p = .ready(engine)
            return true
        }
    }

    /// Moves to draining, keeping the engine for requests in flight.
    public func beginDraining() {
        phase.withLock { p in
            if case .ready(let engine) = p { p = .draining(engine) } else { p = .draining(nil) }
        }
    }

    /// The engine while it serves: ready, or draining with requests in flight.
    public var servingEngine: ServingEngine? {
        switch current {
        case .ready(let engine): engine
        case .draining(let engine): engine
        case .loading, .failed: nil
        }
    }

    /// The engine for new work: ready, or a 503 saying why not. With `servingEngine`, the
    /// only two ways the routes look the engine up.
    public func readyEngine() throws(APIError) -> ServingEngine {
        switch current {
        case .ready(let engine): return engine
        case .loading: throw .unavailable("the model is still loading")
        case .failed(let why): throw .unavailable("the model failed to load: \(why)")
        case .draining: throw .unavailable("the server is shutting down")
        }
    }
}
