public import CorralCore
import Foundation
public import Logging
import Synchronization

/// The LoRA adapters a server offers, by the model name clients send: loaded from
/// `NIM_PEFT_SOURCE` at startup and on each rescan. An adapter added to the folder is
/// loaded; one removed (or replaced) leaves the list at once, so new requests for it get
/// 404, while requests already queued or running under it finish before the engine frees
/// it. A file that cannot be served is skipped with the reason, never fatal.
public final class AdapterRegistry: Sendable {
    /// A loaded adapter.
    public struct Adapter: Sendable, Equatable {
        /// The model name clients send.
        public var name: String
        /// Its file.
        public var path: String
        /// What the engine loaded (id, rank, alpha).
        public var loaded: LoadedAdapter
        /// When it was loaded (seconds since 1970), `created` in `/v1/models`.
        public var created: Int
    }

    /// An adapter found but not served, and why.
    public struct Skipped: Sendable, Equatable {
        /// The model name it would have had.
        public var name: String
        /// Its file, when there is one.
        public var path: String?
        /// Why it is not served.
        public var reason: String
    }

    /// Loads an adapter file into the engine (on the engine thread) and frees one once drained.
    public struct Engine: Sendable {
        /// Loads `path`, refusing a rank over the second argument.
        public var load: @Sendable (_ path: String, _ maxRank: Int) async throws -> LoadedAdapter
        /// Stops new requests naming the id and frees it after its last one.
        public var retire: @Sendable (_ id: Int) -> Void

        /// Creates a value.
        public init(load: @escaping @Sendable (String, Int) async throws -> LoadedAdapter,
                    retire: @escaping @Sendable (Int) -> Void) {
            self.load = load
            self.retire = retire
        }
    }

    /// Limits and where adapters come from.
    public let settings: LoRASettings
    private let baseName: String
    private let engine: Engine?
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var adapters: [String: (adapter: Adapter, stamp: String)] = [:]
        var skipped: [String: (skipped: Skipped, stamp: String)] = [:]
        /// Why the folder itself could not be read at the last scan.
        var problem: String?
    }

    /// Creates a registry; `engine` nil (or no `settings.source`) serves no adapters.
    public init(settings: LoRASettings, baseName: String, engine: Engine?, logger: Logger = Logger(label: "corral.lora")) {
        self.settings = settings
        self.baseName = baseName
        self.engine = engine
        self.logger = logger
    }

    /// Whether adapters come from a folder at all.
    public var isEnabled: Bool { settings.source != nil && engine != nil }

    /// The loaded adapter called `name`, if any.
    public func adapter(named name: String) -> Adapter? { state.withLock { $0.adapters[name]?.adapter } }

    /// Every loaded adapter, by name.
    public var adapters: [Adapter] { state.withLock { $0.adapters.values.map(\.adapter) }.sorted { $0.name < $1.name } }

    /// Every adapter found but not served, by name.
    public var skipped: [Skipped] { state.withLock { $0.skipped.values.map(\.skipped) }.sorted { $0.name < $1.name } }

    /// Why the folder could not be read at the last scan, if it could not.
    public var problem: String? { state.withLock { $0.problem } }

    /// The name of adapter `id`, for metrics.
    public func name(of id: Int) -> String? {
        state.withLock { $0.adapters.values.first { $0.adapter.loaded.id == id }?.adapter.name }
    }

    /// Scans the folder and brings the loaded set in line with it. Call it from one task at
    /// a time (the loader at startup, then the rescan loop).
    public func refresh() async {
        guard let source = settings.source, let engine else { return }
        let found: [AdapterFolder.Found]
        do {
            found = try AdapterFolder.scan(source)
            state.withLock { $0.problem = nil }
        } catch {
            // An unreadable folder (a volume not mounted yet) keeps what is loaded.
            let why = "NIM_PEFT_SOURCE=\(source) cannot be read: \(error.localizedDescription)"
            if state.withLock({ s in defer { s.problem = why }; return s.problem != why }) {
                logger.warning("adapters not scanned", metadata: ["why": "\(why)"])
            }
            return
        }
        let wanted = Dictionary(found.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Gone or replaced: out of the list now, freed once their requests finish.
        let gone = state.withLock { s -> [Adapter] in
            let names = s.adapters.keys.filter { wanted[$0] == nil || wanted[$0]!.stamp != s.adapters[$0]!.stamp }
            s.skipped = s.skipped.filter { wanted[$0.key] != nil }
            return names.compactMap { s.adapters.removeValue(forKey: $0)?.adapter }
        }
        for adapter in gone {
            engine.retire(adapter.loaded.id)
            logger.info("adapter removed", metadata: ["adapter": "\(adapter.name)", "path": "\(adapter.path)"])
        }
        for item in found where needsLoad(item) {
            await load(item, with: engine)
        }
    }

    /// Whether `item` is neither loaded nor skipped for a reason that still holds (a
    /// skipped file is retried when it changes, or when it was only over the limit).
    private func needsLoad(_ item: AdapterFolder.Found) -> Bool {
        state.withLock { s in
            if s.adapters[item.name] != nil { return false }
            guard let skipped = s.skipped[item.name] else { return true }
            return skipped.stamp != item.stamp || skipped.skipped.reason.hasPrefix(Self.overLimit)
        }
    }

    private static let overLimit = "over NIM_MAX_CPU_LORAS"

    private func load(_ item: AdapterFolder.Found, with engine: Engine) async {
        func skip(_ reason: String) {
            state.withLock { $0.skipped[item.name] = (Skipped(name: item.name, path: item.path, reason: reason), item.stamp) }
            logger.warning("adapter skipped", metadata: ["adapter": "\(item.name)", "path": "\(item.path ?? "-")", "why": "\(reason)"])
        }
        guard let path = item.path else { return skip(item.problem ?? "no adapter file") }
        guard item.name != baseName else { return skip("the adapter has the base model's name, \(baseName)") }
        let loaded = state.withLock { $0.adapters.count }
        guard loaded < settings.maxLoaded else {
            return skip("\(Self.overLimit)=\(settings.maxLoaded): that many adapters are loaded")
        }
        do {
            let adapter = try await engine.load(path, settings.maxRank)
            let entry = Adapter(name: item.name, path: path, loaded: adapter, created: Int(Date().timeIntervalSince1970))
            state.withLock {
                $0.adapters[item.name] = (entry, item.stamp)
                $0.skipped[item.name] = nil
            }
            logger.info("adapter loaded", metadata: ["adapter": "\(item.name)", "path": "\(path)", "rank": "\(adapter.rank)",
                                                     "tensors": "\(adapter.tensors)"])
        } catch {
            skip("\(error)")
        }
    }
}
