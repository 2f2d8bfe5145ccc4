// The output half of the chat shim; see include/corral_chat.h. It does what llama-server's
// task_result_state does: re-parse a choice's whole output as it grows and send only what
// changed, with stable tool-call ids.
#include "corral_chat.h"
#include "shim.hpp"

#include <chat.h>
#include <json.h>

#include <exception>
#include <random>
#include <set>
#include <string>
#include <vector>

struct corral_chat_parser {
    common_chat_parser_params params;
    bool generic = false;           // a generic-format reply: calls are read at the end
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
                // A JSON reply is read once it is whole, but an answer's text streams as
                // it comes; tool calls arrive whole, at the end.
                if (is_final) {
                    parsed = corral_generic_parse(parser->generated);
                } else if (corral_generic_partial_response(parser->generated, parsed.content)) {
                    parsed.role = "assistant";
                }
            } else {
                parsed = common_chat_parse(parser->generated, !is_final, parser->params);
            }
        } catch (const std::exception &) {
            // Output cut short (max_tokens) does not match the format as a whole; what it
            // holds so far is still the answer, as a partial parse reads it (and as it
            // streamed).
            if (!is_final) throw;
            if (!parser->generic) {
                parsed = common_chat_parse(parser->generated, true, parser->params);
            } else if (corral_generic_partial_response(parser->generated, parsed.content)) {
                parsed.role = "assistant";
            } else {
                throw;
            }
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
