// The rendering half of the chat shim; see include/corral_chat.h. It does what
// llama-server's oaicompat_chat_params_parse and its sampling-parameter reader do, with the
// same library calls, so every template family renders here as it does there.
#include "corral_chat.h"
#include "shim.hpp"

#include <chat.h>
#include <common.h>
#include <json.h>

#include <exception>
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

// Some of llama.cpp's native tool grammars repeat the call block, `(tool-call space)+`,
// even when parallel calls are off. With them off, one block is allowed, so the turn ends
// after its call instead of going on to write calls that would be dropped.
std::string one_call_block(const std::string &grammar) {
    static const std::regex repeated(R"(\((tool-call\??) space\)\+)");
    return std::regex_replace(grammar, repeated, "$1 space");
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
        // As llama-server passes it: templates that read `reasoning_effort` (gpt-oss) get it.
        auto effort = request.value("reasoning_effort", std::string());
        if (!effort.empty() && effort != "none") inputs.chat_template_kwargs["reasoning_effort"] = common_json(effort).dump();
        const bool generic = corral_generic_needed(templates, inputs);
        auto params = generic ? corral_generic_apply(templates, inputs)
                              : common_chat_templates_apply(templates->templates.get(), inputs);
        if (!generic && inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED && !inputs.tools.empty()) {
            params.grammar = calls_first(params.grammar);
        }
        if (!generic && !inputs.parallel_tool_calls) params.grammar = one_call_block(params.grammar);

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
