import CLlama
import CorralCore
import Glibc

/// One grammar parsed by llama.cpp against one vocabulary. It is never sampled with
/// itself: each sequence gets a clone (`instance()`), which copies the parsed rules instead
/// of parsing the GBNF text again.
// Unchecked: after init the template is only read, never accepted into or applied, and
// cloning reads it through a const reference (llama_grammar_clone_impl), so any thread may
// clone it while another does.
final class CompiledGrammar: @unchecked Sendable {
    /// What a compiled grammar depends on: the text and how it starts. The prefill is not
    /// part of it; it is accepted into each clone.
    struct Key: Hashable {
        var text: String
        var lazy: Bool
        var triggerPatterns: [String]
        var triggerTokens: [Token]

        init(_ spec: GrammarSpec) {
            text = spec.text
            lazy = spec.lazy
            triggerPatterns = spec.triggerPatterns
            triggerTokens = spec.triggerTokens
        }
    }

    private let template: UnsafeMutablePointer<llama_sampler>

    /// Parses `spec` against `vocab`, lazy or not, as the sampler will use it.
    /// - Throws: `ConstraintError` with the parser's reason when llama.cpp rejects it; the
    ///   parser prints the whole grammar to stderr, so that is captured, not logged.
    init(_ spec: GrammarSpec, vocab: OpaquePointer) throws(ConstraintError) {
        _ = EngineLog.takeLastError()
        let (sampler, printed) = EngineStderr.capturing(dropping: spec.text) { Self.parse(spec, vocab) }
        guard let sampler else {
            let logged = EngineLog.takeLastError()
            let detail = printed.isEmpty ? logged : printed
            throw ConstraintError("not a valid GBNF grammar" + (detail.isEmpty ? "" : ": \(detail)"))
        }
        template = sampler
    }

    deinit { llama_sampler_free(template) }

    /// A fresh grammar sampler in the start state; nil only when out of memory.
    func instance() -> UnsafeMutablePointer<llama_sampler>? {
        llama_sampler_clone(template)
    }

    private static func parse(_ spec: GrammarSpec, _ vocab: OpaquePointer) -> UnsafeMutablePointer<llama_sampler>? {
        guard spec.lazy else { return llama_sampler_init_grammar(vocab, spec.text, "root") }
        let patterns = spec.triggerPatterns.map { strdup($0) }
        defer { patterns.forEach { free($0) } }
        var pointers = patterns.map { UnsafePointer<CChar>($0) }
        return pointers.withUnsafeMutableBufferPointer { p in
            spec.triggerTokens.withUnsafeBufferPointer { t in
                llama_sampler_init_grammar_lazy_patterns(vocab, spec.text, "root", p.baseAddress, p.count,
                                                         t.baseAddress, t.count)
            }
        }
    }
}
