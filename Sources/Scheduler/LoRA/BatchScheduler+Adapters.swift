public import CorralCore

extension BatchScheduler {
    /// Loads a LoRA adapter on the engine thread, between two steps, so requests may name
    /// it (`GenerationRequest.adapter`) once this returns.
    /// - Parameter maxRank: the largest rank accepted.
    /// - Throws: `SchedulerError.invalidRequest` with the engine's reason when it cannot be
    ///   loaded, `.shuttingDown` after `shutdown()`.
    public func loadAdapter(path: String, maxRank: Int) async throws(SchedulerError) -> LoadedAdapter {
        let result: Result<LoadedAdapter, SchedulerError> = await withCheckedContinuation { continuation in
            let queued = onEngineThread { [self] in
                do throws(ExecutorError) {
                    let adapter = try core.executor.loadAdapter(path: path, maxRank: maxRank)
                    withCoreLock { $0.loadedAdapters.insert(adapter.id) }
                    continuation.resume(returning: .success(adapter))
                } catch {
                    let reason = switch error {
                    case .outOfKV: "no memory for it"
                    case .failed(let why): why
                    }
                    continuation.resume(returning: .failure(.invalidRequest(reason)))
                }
            }
            if !queued { continuation.resume(returning: .failure(.shuttingDown)) }
        }
        return try result.get()
    }

    /// Stops new requests from naming `id` and frees it once its waiting and running
    /// requests have finished (they run to their end under it).
    public func retireAdapter(_ id: Int) {
        withCoreLock { core in
            guard core.loadedAdapters.remove(id) != nil else { return }
            core.retiring.insert(id)
        }
    }
}
