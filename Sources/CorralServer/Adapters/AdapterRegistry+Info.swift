import CorralCore

extension AdapterRegistry {
    /// `/v1/metadata`'s `lora` section: where adapters come from, the limits, what is
    /// loaded, and what was skipped with the reason.
    struct Info: Encodable {
        var source: String?
        var refresh_interval_seconds: Int?
        var max_loras: Int
        var max_cpu_loras: Int
        var max_lora_rank: Int
        var adapters: [Entry]
        var skipped: [Refusal]
        /// Why the folder could not be read at the last scan.
        var problem: String?
        /// Steps that ran under another adapter than the step before (each re-plans the engine's graph).
        var adapter_switches: Int

        struct Entry: Encodable {
            var name: String
            var path: String
            var rank: Int
            var alpha: Double
            var tensors: Int
        }

        struct Refusal: Encodable {
            var name: String
            var path: String?
            var reason: String
        }
    }

    /// The `lora` section now; `switches` comes from the scheduler's snapshot.
    func info(switches: Int) -> Info {
        Info(source: settings.source, refresh_interval_seconds: settings.refreshInterval > 0 ? Int(settings.refreshInterval) : nil,
             max_loras: settings.maxActive, max_cpu_loras: settings.maxLoaded, max_lora_rank: settings.maxRank,
             adapters: adapters.map { Info.Entry(name: $0.name, path: $0.path, rank: $0.loaded.rank, alpha: $0.loaded.alpha,
                                                 tensors: $0.loaded.tensors) },
             skipped: skipped.map { Info.Refusal(name: $0.name, path: $0.path, reason: $0.reason) },
             problem: problem, adapter_switches: switches)
    }
}
