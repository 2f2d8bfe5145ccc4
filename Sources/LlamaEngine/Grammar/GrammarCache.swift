import CLlama
public import CorralCore
import Synchronization

/// Output constraints converted to GBNF, and GBNF parsed by llama.cpp, once per content: a
/// request's constraint is converted and parsed when it is validated, and its sequences'
/// samplers, at every admission, clone the parsed grammar instead of parsing it again. A
/// client that repeats a schema pays for it once. Each kind holds at most `capacity`
/// entries, least recently used out first. One cache serves one model's vocabulary;
/// `LlamaModel.grammars` is that model's.
public final class GrammarCache: Sendable {
    /// What the cache has done, for tests and for judging its size.
    public struct Stats: Sendable, Equatable {
        /// Constraints converted to GBNF (schemas, regexes, choice lists; GBNF as given).
        public var conversions = 0
        /// Constraints answered from the cache, with no conversion.
        public var conversionHits = 0
        /// Grammars parsed by llama.cpp.
        public var compiles = 0
        /// Grammars answered from the cache, with no parse.
        public var compileHits = 0
        /// Converted constraints held now.
        public var convertedEntries = 0
        /// Parsed grammars held now.
        public var compiledEntries = 0
    }

    /// Most entries of each kind.
    public let capacity: Int

    private struct State {
        var converted: BoundedCache<OutputConstraint, String>
        var compiled: BoundedCache<CompiledGrammar.Key, CompiledGrammar>
        var stats = Stats()
    }
    // A Mutex, not the engine thread: requests validate on the server's tasks while the
    // engine thread admits sequences. Conversion and parsing run outside the lock.
    private let state: Mutex<State>

    /// A cache of at most `capacity` entries of each kind; 64 by default.
    public init(capacity: Int = 64) {
        self.capacity = max(capacity, 1)
        state = Mutex(State(converted: BoundedCache(capacity: capacity), compiled: BoundedCache(capacity: capacity)))
    }

    /// The counts so far and the entries held.
    public var stats: Stats {
        state.withLock { s in
            var stats = s.stats
            stats.convertedEntries = s.converted.count
            stats.compiledEntries = s.compiled.count
            return stats
        }
    }

    /// `constraint` as GBNF, parsed against `model`'s vocabulary, from the cache or
    /// converted, checked and parsed now. A failure is not cached.
    /// - Throws: `ConstraintError` with the converter's or the parser's reason.
    public func grammar(for constraint: OutputConstraint, model: LlamaModel) throws(ConstraintError) -> String {
        let hit = state.withLock { s -> String? in
            let gbnf = s.converted.value(for: constraint)
            if gbnf != nil { s.stats.conversionHits += 1 } else { s.stats.conversions += 1 }
            return gbnf
        }
        if let hit { return hit }
        let gbnf = try constraint.gbnf()
        try OutputConstraint.checkRepetitions(gbnf)
        try compiled(GrammarSpec(gbnf), model: model)
        state.withLock { $0.converted.insert(gbnf, for: constraint) }
        return gbnf
    }

    /// The parsed grammar for `spec`, from the cache or parsed now. Two requests that miss
    /// at once both parse; the second to finish replaces the first, and both are correct.
    /// - Throws: `ConstraintError` with the parser's reason.
    @discardableResult
    func compiled(_ spec: GrammarSpec, model: LlamaModel) throws(ConstraintError) -> CompiledGrammar {
        let key = CompiledGrammar.Key(spec)
        let hit = state.withLock { s -> CompiledGrammar? in
            let grammar = s.compiled.value(for: key)
            if grammar != nil { s.stats.compileHits += 1 } else { s.stats.compiles += 1 }
            return grammar
        }
        if let hit { return hit }
        let grammar = try CompiledGrammar(spec, vocab: model.vocab)
        state.withLock { $0.compiled.insert(grammar, for: key) }
        return grammar
    }
}
