// The generic tool-call format, for templates that know nothing of tools. The pinned
// llama.cpp renders such templates without the tools and never constrains a call (its
// older releases had this "generic" format, and this is that design): the tools are
// described in the system message, and the whole reply is a JSON object held by a grammar
// from llama.cpp's own schema converter, either {"tool_calls": [...]} (or {"tool_call":
// {...}} when only one call is allowed) or {"response": "..."} (not for `required`).
#include "shim.hpp"

#include <json-schema-to-grammar.h>
#include <json.h>

#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

namespace {

common_json object_of(const std::string &key, const common_json &value) {
    auto o = common_json::object();
    o[key] = value;
    return o;
}

common_json call_schema(const common_chat_tool &tool) {
    auto name = common_json::object();
    name["type"] = "string";
    name["const"] = tool.name;
    auto properties = common_json::object();
    properties["name"] = name;
    properties["arguments"] = tool.parameters.empty() ? common_json::object() : common_json::parse(tool.parameters);
    auto required = common_json::array({"name", "arguments"});
    auto schema = common_json::object();
    schema["type"] = "object";
    schema["properties"] = properties;
    schema["required"] = required;
    return schema;
}

common_json object_with(const std::string &key, const common_json &value) {
    auto properties = common_json::object();
    properties[key] = value;
    auto schema = common_json::object();
    schema["type"] = "object";
    schema["properties"] = properties;
    schema["required"] = common_json::array({key});
    return schema;
}

common_json reply_schema(const common_chat_templates_inputs &inputs) {
    auto calls = common_json::array();
    for (const auto &tool : inputs.tools) calls.push_back(call_schema(tool));
    common_json one = calls.size() == 1 ? calls.at(0) : common_json::object();
    if (calls.size() != 1) one["anyOf"] = calls;
    common_json call;
    if (inputs.parallel_tool_calls) {
        auto array = common_json::object();
        array["type"] = "array";
        array["items"] = one;
        array["minItems"] = 1;
        call = object_with("tool_calls", array);
    } else {
        call = object_with("tool_call", one);
    }
    if (inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED) return call;
    auto text = common_json::object();
    text["type"] = "string";
    auto either = common_json::object();
    either["anyOf"] = common_json::array({call, object_with("response", text)});
    return either;
}

// The history in the form the reply takes: calls become the JSON the model wrote, and tool
// results become user turns (a template with no tool role may refuse one).
std::vector<common_chat_msg> rewrite_history(const common_chat_templates_inputs &inputs) {
    std::vector<common_chat_msg> out;
    auto tools = common_json::array();
    for (const auto &tool : inputs.tools) {
        auto function = common_json::object();
        function["name"] = tool.name;
        if (!tool.description.empty()) function["description"] = tool.description;
        function["parameters"] = tool.parameters.empty() ? common_json::object() : common_json::parse(tool.parameters);
        tools.push_back(function);
    }
    std::string instruction = "You can call these tools:\n" + tools.dump(2) + "\n\nRespond in JSON format, either with `"
        + std::string(inputs.parallel_tool_calls ? "tool_calls" : "tool_call")
        + "` (a request to call tools) or with `response` (a reply to the user's request).";
    if (inputs.messages.empty() || inputs.messages.front().role != "system") {
        common_chat_msg system;
        system.role = "system";
        system.content = instruction;
        out.push_back(system);
    }
    for (const auto &message : inputs.messages) {
        common_chat_msg m = message;
        if (m.role == "system" && out.empty()) m.content = m.render_content() + "\n\n" + instruction, m.content_parts.clear();
        if (!m.tool_calls.empty()) {
            auto calls = common_json::array();
            for (const auto &call : m.tool_calls) {
                auto c = common_json::object();
                c["name"] = call.name;
                c["arguments"] = common_json::parse(call.arguments.empty() ? "{}" : call.arguments);
                calls.push_back(c);
            }
            m.content = (inputs.parallel_tool_calls ? object_of("tool_calls", calls) : object_of("tool_call", calls.at(0))).dump();
            m.tool_calls.clear();
        } else if (m.role == "tool") {
            auto result = common_json::object();
            result["tool_call_id"] = m.tool_call_id;
            result["content"] = m.render_content();
            m.role = "user";
            m.content = object_of("tool_response", result).dump();
            m.content_parts.clear();
            m.tool_call_id.clear();
        }
        out.push_back(m);
    }
    return out;
}

}  // namespace

bool corral_generic_needed(const corral_chat_templates *templates, const common_chat_templates_inputs &inputs) {
    if (inputs.tools.empty() || inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_NONE) return false;
    auto caps = common_chat_templates_get_caps(templates->templates.get());
    return !caps["supports_tool_calls"];
}

// The converter lets JSON breathe (`space` allows newlines and indentation), and a small
// model pretty-prints a call into twice the tokens; the reply is for a parser, so it gets
// no free whitespace at all: shorter calls that fit a small max_tokens, and faster ones.
static std::string compact(std::string grammar) {
    const std::string rule = "space ::= ";
    const auto at = grammar.find(rule);
    if (at == std::string::npos || (at > 0 && grammar[at - 1] != '\n')) return grammar;
    const auto end = grammar.find('\n', at);
    grammar.replace(at, (end == std::string::npos ? grammar.size() : end) - at, rule + "\"\"");
    return grammar;
}

common_chat_params corral_generic_apply(const corral_chat_templates *templates, const common_chat_templates_inputs &inputs) {
    auto plain = inputs;
    plain.messages = rewrite_history(inputs);
    plain.tools.clear();
    plain.tool_choice = COMMON_CHAT_TOOL_CHOICE_NONE;
    auto params = common_chat_templates_apply(templates->templates.get(), plain);
    params.grammar = compact(json_schema_to_grammar(reply_schema(inputs), /* force_gbnf = */ true));
    params.grammar_lazy = false;
    params.grammar_triggers.clear();
    params.parser.clear();
    return params;
}

common_chat_msg corral_generic_parse(const std::string &text) {
    common_chat_msg message;
    message.role = "assistant";
    auto reply = common_json::parse(text);
    auto add = [&](const common_json &call) {
        common_chat_tool_call c;
        c.name = call.at("name").get<std::string>();
        c.arguments = call.at("arguments").dump();
        message.tool_calls.push_back(c);
    };
    if (reply.contains("tool_calls")) {
        for (const auto &call : reply.at("tool_calls")) add(call);
    } else if (reply.contains("tool_call")) {
        add(reply.at("tool_call"));
    } else if (reply.contains("response")) {
        const auto &response = reply.at("response");
        message.content = response.is_string() ? response.get<std::string>() : response.dump();
    } else {
        throw std::runtime_error("the reply has neither tool_calls nor response");
    }
    return message;
}

bool corral_generic_partial_response(const std::string &text, std::string &content) {
    // The grammar writes `{`, whitespace, `"response"`, whitespace, `:`, whitespace, `"`.
    static const std::regex head(R"(^\s*\{\s*"response"\s*:\s*")");
    std::smatch match;
    if (!std::regex_search(text, match, head)) return false;
    const size_t start = static_cast<size_t>(match.length(0));
    // The longest prefix of the string's body that ends after a whole character or escape
    // (a UTF-16 surrogate pair counts as one), decoded by the JSON parser itself.
    size_t safe = start, i = start;
    auto hex4 = [&](size_t at) {
        if (at + 4 > text.size()) return -1;
        return static_cast<int>(std::strtol(text.substr(at, 4).c_str(), nullptr, 16));
    };
    while (i < text.size() && text[i] != '"') {
        if (text[i] != '\\') {
            safe = ++i;
            continue;
        }
        if (i + 1 >= text.size()) break;
        if (text[i + 1] != 'u') {
            safe = i += 2;
            continue;
        }
        int unit = hex4(i + 2);
        if (unit < 0) break;
        if (unit >= 0xD800 && unit <= 0xDBFF) {  // a high surrogate: wait for its pair
            if (i + 12 > text.size()) break;
            safe = i += 12;
        } else {
            safe = i += 6;
        }
    }
    try {
        content = common_json::parse("\"" + text.substr(start, safe - start) + "\"").get<std::string>();
        return true;
    } catch (...) {
        return false;
    }
}
