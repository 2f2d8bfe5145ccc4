import CorralCore
@testable import LlamaEngine
import Testing

/// A constraint is converted and parsed once per content, however often it is asked for
/// or admitted, and the cache never holds more than its capacity.
@Suite("Grammar cache")
struct GrammarCacheTests {
    let model = TestModels.smol
    let schema = #"{"type":"object","properties":{"id":{"type":"integer"},"tag":{"type":"string","pattern":"^[a-z]+$"}}}"#

    @Test func aRepeatedSchemaIsConvertedAndParsedOnce() throws {
        let cache = GrammarCache(capacity: 4)
        let first = try cache.grammar(for: .jsonSchema(schema), model: model)
        for _ in 0..<3 { #expect(try cache.grammar(for: .jsonSchema(schema), model: model) == first) }
        // Each admission asks for the parse again, as the sampler does, and clones it.
        let parsed = try cache.compiled(GrammarSpec(first), model: model)
        #expect(try cache.compiled(GrammarSpec(first), model: model) === parsed)
        #expect(cache.stats == GrammarCache.Stats(conversions: 1, conversionHits: 3, compiles: 1, compileHits: 2,
                                                  convertedEntries: 1, compiledEntries: 1))
    }

    @Test func theCacheHoldsAtMostItsCapacityAndDropsTheLeastRecentlyUsed() throws {
        let cache = GrammarCache(capacity: 2)
        for word in ["a", "b", "c", "d", "e"] { _ = try cache.grammar(for: .choice([word]), model: model) }
        #expect(cache.stats.convertedEntries == 2 && cache.stats.compiledEntries == 2)
        #expect(cache.stats.conversions == 5)
        _ = try cache.grammar(for: .choice(["d"]), model: model)  // d is now newer than e
        _ = try cache.grammar(for: .choice(["f"]), model: model)  // so e goes
        _ = try cache.grammar(for: .choice(["d"]), model: model)
        #expect(cache.stats.conversionHits == 2)
        _ = try cache.grammar(for: .choice(["e"]), model: model)
        #expect(cache.stats.conversions == 7 && cache.stats.convertedEntries == 2)
    }

    @Test func aConstraintThatFailsIsNotKept() {
        let cache = GrammarCache(capacity: 4)
        for _ in 0..<2 {
            #expect(throws: ConstraintError("pattern ^(?=x)x$ is not supported: the regex uses syntax that cannot be turned into a grammar (supported: literals, classes, groups, alternation, ?, *, +, {m,n})")) {
                try cache.grammar(for: .jsonSchema(#"{"type":"string","pattern":"^(?=x)x$"}"#), model: model)
            }
            #expect(throws: ConstraintError("the schema is not valid JSON")) {
                try cache.grammar(for: .jsonSchema("{not json"), model: model)
            }
        }
        #expect(cache.stats.conversions == 4 && cache.stats.convertedEntries == 0 && cache.stats.compiledEntries == 0)
    }

    @Test func aLazyToolGrammarIsParsedApartFromTheSameTextInForce() throws {
        let cache = GrammarCache(capacity: 4)
        let text = #"root ::= "<call>" [a-z]+"#
        let eager = try cache.compiled(GrammarSpec(text), model: model)
        let lazy = try cache.compiled(GrammarSpec(text: text, lazy: true, triggerPatterns: ["[\\s\\S]*?(<call>)[\\s\\S]*"],
                                                  triggerTokens: [], prefill: []), model: model)
        #expect(eager !== lazy && cache.stats.compiles == 2)
        // The prefill is accepted into each clone, so it is not part of what is parsed.
        _ = try cache.compiled(GrammarSpec(text: text, lazy: false, triggerPatterns: [], triggerTokens: [], prefill: [1, 2]),
                               model: model)
        #expect(cache.stats.compiles == 2 && cache.stats.compileHits == 1)
    }
}
