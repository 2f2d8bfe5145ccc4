// What the shim's two source files share. Private: Swift never sees it.
#pragma once
#include <chat.h>

#include <cstdlib>
#include <cstring>
#include <string>

/// The parsed templates behind the C handle.
struct corral_chat_templates {
    common_chat_templates_ptr templates;
};

/// Hands a std::string to C as a malloc'd copy and reports success or failure.
inline int give(char **out, const std::string &text, int status) {
    *out = static_cast<char *>(std::malloc(text.size() + 1));
    if (*out == nullptr) return 2;
    std::memcpy(*out, text.c_str(), text.size() + 1);
    return status;
}

/// Whether a request with tools needs the generic format: its template shows no tool calls.
bool corral_generic_needed(const corral_chat_templates *templates, const common_chat_templates_inputs &inputs);

/// The prompt (tools in the system message, calls in the history as JSON) and the reply's
/// grammar, for the generic format (corral_generic.cpp).
common_chat_params corral_generic_apply(const corral_chat_templates *templates, const common_chat_templates_inputs &inputs);

/// Reads a whole generic-format reply. Throws when it is not one.
common_chat_msg corral_generic_parse(const std::string &text);

/// For a generic reply that is an answer (`{"response": "...`), the answer's text so far,
/// up to the last whole character; false for any other reply.
bool corral_generic_partial_response(const std::string &text, std::string &content);
