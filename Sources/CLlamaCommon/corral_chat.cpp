// The chat half of the shim; see include/corral_chat.h. It does what llama-server's
// oaicompat_chat_params_parse, its sampling-parameter reader and its task_result_state do,
// with the same library calls, so every template family behaves here as it does there.
#include "corral_chat.h"
#include "shim.hpp"

#include <chat.h>
#include <common.h>
#include <json.h>
#include <reasoning-budget.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

common_json tokens_json(const std::vector<llama_token> &tokens) {
    auto out = common_json::array();
    for (auto t : tokens) out.push_back(static_cast<int64_t>(t));
    return out;
}

// The generation prompt's tokens, as common_sampler_init computes its grammar prefill:
// some tokenizers put a space before a leading special token, and that one is skipped.
std::vector<llama_token> prefill_tokens(const llama_vocab *vocab, const std::string &generation_prompt) {
    std::vector<llama_token> out;
    if (generation_prompt.empty()) return out;
    auto tokens = common_tokenize(vocab, generation_prompt, false, true);
    for (size_t i = 0; i < tokens.size(); i++) {
        auto piece = common_token_to_piece(vocab, tokens[i], true);
        if (i == 0 && !piece.empty() && std::isspace(static_cast<unsigned char>(piece[0]))
            && !std::isspace(static_cast<unsigned char>(generation_prompt[0]))) continue;
        out.push_back(tokens[i]);
    }
    return out;
}

// llama.cpp's tool grammars let free text come before the first call, even for
// `required` (the call must come eventually). OpenAI's `required` means the reply is
// calls, and a small model may never stop talking, so the optional text before the calls
// (an optional `until-N` rule in the root) is dropped. A root of another shape is left as
// it is.
std::string calls_first(const std::string &grammar) {
    static const std::regex optional_text(R"(\s*\buntil-[0-9]+\?)");
    auto start = grammar.find("root ::= ");
    if (start == std::string::npos) return grammar;
    auto end = grammar.find('\n', start);
    auto root = grammar.substr(start, end == std::string::npos ? std::string::npos : end - start);
    return grammar.substr(0, start) + std::regex_replace(root, optional_text, "")
        + (end == std::string::npos ? "" : grammar.substr(end));
}

}  // namespace

extern "C" int corral_chat_prepare(const corral_chat_templates *templates, const struct llama_vocab *vocab,
                                   const char *request_json, char **out) {
    try {
        auto request = common_json::parse(request_json);
        common_chat_templates_inputs inputs;
        inputs.use_jinja = true;
        inputs.add_generation_prompt = true;
        inputs.messages = common_chat_msgs_parse_oaicompat(request.at("messages"));
        inputs.tools = common_chat_tools_parse_oaicompat(request.value("tools", common_json()));
        inputs.tool_choice = common_chat_tool_choice_parse_oaicompat(request.value("tool_choice", std::string("auto")));
        inputs.parallel_tool_calls = request.value("parallel_tool_calls", false);
        inputs.reasoning_format = common_reasoning_format_from_name(request.value("reasoning_format", std::string("none")));
        inputs.enable_thinking = request.value("enable_thinking", true);
        const bool generic = corral_generic_needed(templates, inputs);
        auto params = generic ? corral_generic_apply(templates, inputs)
                              : common_chat_templates_apply(templates->templates.get(), inputs);
        if (!generic && inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED && !inputs.tools.empty()) {
            params.grammar = calls_first(params.grammar);
        }

        // Preserved tokens are rendered as text when generated; a trigger word that is one
        // preserved token wakes the grammar on that token, as llama-server resolves them.
        std::set<llama_token> preserved;
        for (const auto &text : params.preserved_tokens) {
            auto ids = common_tokenize(vocab, text, false, true);
            if (ids.size() == 1) preserved.insert(ids[0]);
        }
        auto patterns = common_json::array();
        std::vector<llama_token> trigger_tokens;
        for (const auto &trigger : params.grammar_triggers) {
            switch (trigger.type) {
            case COMMON_GRAMMAR_TRIGGER_TYPE_WORD: {
                auto ids = common_tokenize(vocab, trigger.value, false, true);
                if (ids.size() == 1 && preserved.count(ids[0])) {
                    trigger_tokens.push_back(ids[0]);
                } else {
                    patterns.push_back(regex_escape(trigger.value));
                }
                break;
            }
            case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN:
                patterns.push_back(trigger.value);
                break;
            case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: {
                const auto &p = trigger.value;
                patterns.push_back(p.empty() ? std::string("^$")
                                             : (p.front() != '^' ? "^" : "") + p + (p.back() != '$' ? "$" : ""));
                break;
            }
            case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN:
                trigger_tokens.push_back(trigger.token);
                break;
            }
        }
        if (params.grammar_lazy && !params.grammar.empty() && patterns.empty() && trigger_tokens.empty()) {
            return give(out, "the template's tool-call grammar is lazy but has no trigger", 1);
        }

        auto end_tags = common_json::array();
        auto thinking_end = common_json::array();
        for (const auto &tag : params.thinking_end_tags) {
            if (tag.empty()) continue;
            end_tags.push_back(tag);
            thinking_end.push_back(tokens_json(common_tokenize(vocab, tag, false, true)));
        }
        auto stops = common_json::array();
        for (const auto &stop : params.additional_stops) stops.push_back(stop);

        auto plan = common_json::object();
        plan["prompt"] = params.prompt;
        plan["format"] = generic ? std::string("generic") : std::string(common_chat_format_name(params.format));
        plan["generic"] = generic;
        plan["parallel_tool_calls"] = inputs.parallel_tool_calls;
        plan["format_id"] = static_cast<int64_t>(params.format);
        plan["grammar"] = params.grammar;
        plan["grammar_lazy"] = params.grammar_lazy;
        plan["trigger_patterns"] = patterns;
        plan["trigger_tokens"] = tokens_json(trigger_tokens);
        plan["preserved_tokens"] = tokens_json(std::vector<llama_token>(preserved.begin(), preserved.end()));
        plan["grammar_prefill"] = tokens_json(prefill_tokens(vocab, params.generation_prompt));
        plan["additional_stops"] = stops;
        plan["generation_prompt"] = params.generation_prompt;
        plan["parser"] = params.parser;
        plan["supports_thinking"] = params.supports_thinking;
        plan["thinking_start_tag"] = params.thinking_start_tag;
        plan["thinking_end_tags"] = end_tags;
        plan["thinking_start"] = tokens_json(params.thinking_start_tag.empty()
                                                 ? std::vector<llama_token>()
                                                 : common_tokenize(vocab, params.thinking_start_tag, false, true));
        plan["thinking_end"] = thinking_end;
        return give(out, plan.dump(), 0);
    } catch (const std::exception &e) {
        return give(out, e.what(), 1);
    } catch (...) {
        return give(out, "unknown error rendering the chat template", 1);
    }
}

extern "C" char *corral_chat_templates_caps(const corral_chat_templates *templates) {
    auto caps = common_json::object();
    try {
        for (const auto &[name, value] : common_chat_templates_get_caps(templates->templates.get())) caps[name] = value;
    } catch (...) {
    }
    char *out = nullptr;
    give(&out, caps.dump(), 0);
    return out;
}

struct corral_chat_parser {
    common_chat_parser_params params;
    bool generic = false;           // a generic-format reply is read whole, at the end
    bool parallel = true;           // more than one call may be returned
    std::string generated;
    common_chat_msg message;
    std::vector<std::string> ids;   // tool-call ids, kept stable across re-parses
    std::set<size_t> named;         // tool calls whose id and name were sent
};

extern "C" corral_chat_parser *corral_chat_parser_new(const char *plan_json, const char *reasoning_format) {
    try {
        auto plan = common_json::parse(plan_json);
        auto parser = new corral_chat_parser;
        parser->params.format = static_cast<common_chat_format>(plan.at("format_id").get<int64_t>());
        parser->params.generation_prompt = plan.value("generation_prompt", std::string());
        parser->params.reasoning_format = common_reasoning_format_from_name(reasoning_format);
        parser->generic = plan.value("generic", false);
        parser->parallel = plan.value("parallel_tool_calls", true);
        auto definition = plan.value("parser", std::string());
        if (!definition.empty()) parser->params.parser.load(definition);
        return parser;
    } catch (...) {
        return nullptr;
    }
}

extern "C" void corral_chat_parser_free(corral_chat_parser *parser) { delete parser; }

namespace {

std::string new_call_id() {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string id = "call_";
    for (int i = 0; i < 24; i++) id += alphabet[rng() % (sizeof(alphabet) - 1)];
    return id;
}

common_json call_delta(size_t index, const std::string &id, const std::string &name, const std::string &arguments) {
    auto d = common_json::object();
    d["index"] = static_cast<int64_t>(index);
    if (!id.empty()) d["id"] = id;
    if (!name.empty()) d["name"] = name;
    d["arguments"] = arguments;
    return d;
}

// The deltas between two parses, filtered as llama-server filters them for streaming: a
// call's id and name go once, in its first delta, and only once the name is complete
// (its arguments have begun, or the output is final).
common_json diffs_json(corral_chat_parser &p, const common_chat_msg &previous, bool is_final) {
    auto out = common_json::array();
    for (auto &d : common_chat_msg_diff::compute_diffs(previous, p.message)) {
        if (!d.reasoning_content_delta.empty()) {
            auto r = common_json::object();
            r["reasoning_content"] = d.reasoning_content_delta;
            out.push_back(r);
        }
        if (!d.content_delta.empty()) {
            auto c = common_json::object();
            c["content"] = d.content_delta;
            out.push_back(c);
        }
        if (d.tool_call_index == std::string::npos) continue;
        size_t i = d.tool_call_index;
        const auto &call = p.message.tool_calls[i];
        if (p.named.count(i)) {
            if (!d.tool_call_delta.arguments.empty()) out.push_back(call_delta(i, "", "", d.tool_call_delta.arguments));
        } else if (!d.tool_call_delta.arguments.empty() || is_final) {
            out.push_back(call_delta(i, call.id, call.name, d.tool_call_delta.arguments));
            p.named.insert(i);
        }
    }
    if (is_final) {
        for (size_t i = 0; i < p.message.tool_calls.size(); i++) {
            const auto &call = p.message.tool_calls[i];
            if (p.named.count(i) || call.name.empty()) continue;
            out.push_back(call_delta(i, call.id, call.name, ""));
            p.named.insert(i);
        }
    }
    return out;
}

}  // namespace

extern "C" int corral_chat_parser_update(corral_chat_parser *parser, const char *added, int is_final, char **out) {
    try {
        parser->generated += added;
        auto previous = parser->message;
        common_chat_msg parsed;
        try {
            if (parser->generic) {
                // A JSON reply is read once it is whole; until then there is nothing to send.
                if (is_final) parsed = corral_generic_parse(parser->generated);
            } else {
                parsed = common_chat_parse(parser->generated, !is_final, parser->params);
            }
        } catch (const std::exception &) {
            // Output cut short (max_tokens) inside a call does not match the format as a
            // whole; what it holds so far is still the answer, as a partial parse reads it.
            if (!is_final || parser->generic) throw;
            parsed = common_chat_parse(parser->generated, true, parser->params);
        }
        // Some formats' grammars allow another call block even when parallel calls are
        // off; the client asked for one call, so only the first is returned.
        if (!parser->parallel && parsed.tool_calls.size() > 1) parsed.tool_calls.resize(1);
        if (!parsed.empty()) {
            parsed.set_tool_call_ids(parser->ids, new_call_id);
            parser->message = parsed;
        }
        return give(out, diffs_json(*parser, previous, is_final != 0).dump(), 0);
    } catch (const std::exception &e) {
        return give(out, e.what(), 1);
    } catch (...) {
        return give(out, "unknown error parsing the output", 1);
    }
}

extern "C" char *corral_chat_parser_message(const corral_chat_parser *parser) {
    auto m = common_json::object();
    m["content"] = parser->message.content;
    m["reasoning_content"] = parser->message.reasoning_content;
    auto calls = common_json::array();
    for (const auto &call : parser->message.tool_calls) {
        auto c = common_json::object();
        c["id"] = call.id;
        c["name"] = call.name;
        c["arguments"] = call.arguments;
        calls.push_back(c);
    }
    m["tool_calls"] = calls;
    char *text = nullptr;
    give(&text, m.dump(), 0);
    return text;
}

extern "C" struct llama_sampler *corral_reasoning_budget_new(const struct llama_vocab *vocab, const int32_t *start,
                                                             size_t start_count, const int32_t *ends,
                                                             const size_t *end_lengths, size_t end_count,
                                                             const int32_t *prefill, size_t prefill_count,
                                                             int budget) {
    try {
        if (start_count == 0 || end_count == 0) return nullptr;
        llama_tokens start_seq(start, start + start_count);
        std::vector<llama_tokens> end_seqs;
        for (size_t i = 0, at = 0; i < end_count; at += end_lengths[i], i++) {
            end_seqs.emplace_back(ends + at, ends + at + end_lengths[i]);
        }
        auto sampler = common_reasoning_budget_init(vocab, {start_seq}, end_seqs, end_seqs.front(),
                                                    budget < 0 ? INT_MAX : budget);
        // The template may have opened the thinking section already (in the generation
        // prompt); the sampler sees those tokens, as llama.cpp's common sampler feeds them.
        for (size_t i = 0; i < prefill_count; i++) llama_sampler_accept(sampler, prefill[i]);
        return sampler;
    } catch (...) {
        return nullptr;
    }
}

extern "C" int corral_reasoning_budget_state(const struct llama_sampler *sampler) {
    return static_cast<int>(common_reasoning_budget_get_state(sampler));
}

extern "C" size_t corral_reasoning_budget_end_match(const struct llama_sampler *sampler, const int32_t **tokens) {
    const llama_tokens *match = common_reasoning_budget_get_end_match(sampler);
    *tokens = match ? match->data() : nullptr;
    return match ? match->size() : 0;
}
