// The C shim over llama.cpp's common library; see include/corral_common.h.
#include "corral_common.h"
#include "shim.hpp"

#include <chat.h>
#include <json-schema-to-grammar.h>
#include <json.h>
#include <log.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

// The converter's own first line is "JSON schema conversion failed:"; the detail follows.
std::string reason(const std::exception &error) {
    std::string what = error.what();
    const std::string header = "JSON schema conversion failed:\n";
    if (what.rfind(header, 0) == 0) what = what.substr(header.size());
    for (auto &c : what) if (c == '\n') c = ';';
    return what;
}

// The converter translates regexes only as a string schema's `pattern`, and then wraps the
// match in JSON quotes: `root ::= "\"" (MATCH) "\""`. We convert that schema and unwrap
// the root, so the grammar matches the bare text. When the converter cannot express the
// regex it falls back to "any JSON string" (only a warning), and the unwrap then fails: we
// refuse instead of accepting anything. Returns 0 with the grammar, or 1 with the reason.
int regex_to_gbnf(const char *pattern, std::string &result) {
    std::string p = pattern;
    if (!p.empty() && p.front() == '^') p.erase(0, 1);
    if (!p.empty() && p.back() == '$' && (p.size() < 2 || p[p.size() - 2] != '\\')) p.pop_back();
    try {
        auto schema = common_json::object();
        schema["type"] = "string";
        schema["pattern"] = "^(" + p + ")$";
        std::string grammar = "\n" + json_schema_to_grammar(schema, /* force_gbnf = */ true);
        const std::string head = "\nroot ::= \"\\\"\" (";
        auto start = grammar.find(head);
        auto end = start == std::string::npos ? std::string::npos : grammar.find('\n', start + 1);
        std::string line = end == std::string::npos ? "" : grammar.substr(start + 1, end - start - 1);
        std::string body;
        for (std::string tail : {") \"\\\"\"", ") \"\\\"\" space"}) {
            const std::string open = head.substr(1);
            if (line.size() > open.size() + tail.size()
                && line.compare(line.size() - tail.size(), tail.size(), tail) == 0) {
                body = line.substr(open.size(), line.size() - open.size() - tail.size());
            }
        }
        if (body.empty()) {
            result = "the regex uses syntax that cannot be turned into a grammar "
                     "(supported: literals, classes, groups, alternation, ?, *, +, {m,n})";
            return 1;
        }
        grammar.replace(start + 1, end - start - 1, "root ::= (" + body + ")");
        grammar.erase(0, 1);
        result = grammar;
        return 0;
    } catch (const std::exception &error) {
        result = reason(error);
        return 1;
    } catch (...) {
        result = "unknown error in the regex converter";
        return 1;
    }
}

// The converter turns a `pattern` it cannot express into "any string" with only a warning,
// which would accept output the schema forbids. So every pattern in the schema is
// converted on its own first, walking the tree already parsed for the conversion (no
// second parse of the schema), and one that fails is the error.
bool unsupported_pattern(const common_json &root, std::string &why) {
    std::vector<const common_json *> pending{&root};
    while (!pending.empty()) {
        const common_json *node = pending.back();
        pending.pop_back();
        if (node->is_object() && node->contains("pattern") && node->at("pattern").is_string()) {
            const std::string pattern = node->at("pattern").get<std::string>();
            std::string detail;
            if (regex_to_gbnf(pattern.c_str(), detail) != 0) {
                why = "pattern " + pattern + " is not supported: " + detail;
                return true;
            }
        }
        // Only containers: iterating a plain value gives the value itself.
        if (node->is_object() || node->is_array()) {
            for (const auto &child : *node) pending.push_back(&child);
        }
    }
    return false;
}

}  // namespace

extern "C" int corral_json_schema_to_gbnf(const char *schema_json, char **out) {
    common_json schema;
    try {
        schema = common_json::parse(schema_json);
    } catch (...) {
        return give(out, "the schema is not valid JSON", 1);
    }
    try {
        std::string why;
        if (unsupported_pattern(schema, why)) return give(out, why, 1);
        return give(out, json_schema_to_grammar(schema, /* force_gbnf = */ true), 0);
    } catch (const std::exception &error) {
        return give(out, reason(error), 1);
    } catch (...) {
        return give(out, "unknown error in the JSON schema converter", 1);
    }
}

extern "C" int corral_regex_to_gbnf(const char *pattern, char **out) {
    std::string result;
    const int status = regex_to_gbnf(pattern, result);
    return give(out, result, status);
}

extern "C" int corral_choice_to_gbnf(const char *const *choices, size_t count, char **out) {
    try {
        std::string rule = "root ::= ";
        for (size_t i = 0; i < count; i++) {
            if (i > 0) rule += " | ";
            rule += gbnf_format_literal(choices[i]);
        }
        return give(out, rule + "\n", 0);
    } catch (const std::exception &error) {
        return give(out, error.what(), 1);
    } catch (...) {
        return give(out, "unknown error quoting the choices", 1);
    }
}

extern "C" corral_chat_templates *corral_chat_templates_init(const struct llama_model *model,
                                                             const char *override_template, char **error) {
    try {
        // common's own log would print a request's content to stderr (the chat parser logs
        // output it cannot parse, whole); Corral reports those failures itself. Set once,
        // at startup, before any request thread runs.
        common_log_set_verbosity_thold(-1);
        auto result = new corral_chat_templates;
        result->templates = common_chat_templates_init(model, override_template ? override_template : "");
        if (!result->templates) {
            delete result;
            give(error, "the model has no chat template", 1);
            return nullptr;
        }
        return result;
    } catch (const std::exception &e) {
        give(error, e.what(), 1);
    } catch (...) {
        give(error, "unknown error parsing the chat template", 1);
    }
    return nullptr;
}

extern "C" void corral_chat_templates_free(corral_chat_templates *templates) { delete templates; }

extern "C" char *corral_chat_templates_source(const corral_chat_templates *templates) {
    char *out = nullptr;
    try {
        give(&out, common_chat_templates_source(templates->templates.get()), 0);
    } catch (...) {
        give(&out, "", 0);
    }
    return out;
}

namespace {
int captured_fd = -1;  // the in-memory file stderr points at while capturing
int saved_fd = -1;     // the real stderr
}  // namespace

extern "C" int corral_stderr_capture_begin(void) {
    std::fflush(stderr);
    captured_fd = memfd_create("corral-stderr", MFD_CLOEXEC);
    if (captured_fd < 0) return -1;
    saved_fd = dup(2);
    if (saved_fd < 0 || dup2(captured_fd, 2) < 0) {
        if (saved_fd >= 0) close(saved_fd);
        close(captured_fd);
        captured_fd = saved_fd = -1;
        return -1;
    }
    return 0;
}

extern "C" char *corral_stderr_capture_end(size_t limit) {
    std::fflush(stderr);
    std::string text;
    if (captured_fd >= 0) {
        dup2(saved_fd, 2);
        close(saved_fd);
        text.resize(limit);
        ssize_t n = pread(captured_fd, text.data(), limit, 0);
        text.resize(n > 0 ? static_cast<size_t>(n) : 0);
        close(captured_fd);
        captured_fd = saved_fd = -1;
    }
    char *out = nullptr;
    give(&out, text, 0);
    return out;
}

extern "C" void corral_common_free(char *text) { std::free(text); }
