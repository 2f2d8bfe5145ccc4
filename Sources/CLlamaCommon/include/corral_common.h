// A C face for the parts of llama.cpp's C++ common library that Corral uses: grammars
// (the JSON-schema, regex and choice converters), chat templates parsed by its Jinja
// engine, and capturing what the engine prints to stderr. Rendering, the tool-call and
// reasoning parsers and the reasoning budget are in corral_chat.h. Only LlamaEngine
// imports them.
//
// Functions that produce text return 0 on success with *out set to a malloc'd string, or
// nonzero with *out set to a malloc'd one-line reason; free *out with corral_common_free.
// No C++ exception ever crosses this boundary.
#pragma once
#include <stddef.h>

struct llama_model;

#ifdef __cplusplus
extern "C" {
#endif

/// A grammar for JSON documents valid under `schema_json` (a JSON Schema, as text). The
/// text is parsed once; a `pattern` anywhere in it that the regex converter cannot express
/// is an error ("pattern P is not supported: why"), and text that is not JSON is "the
/// schema is not valid JSON".
int corral_json_schema_to_gbnf(const char *schema_json, char **out);

/// A grammar for exactly the strings that fully match `pattern` (an ECMAScript-style
/// regex, anchors optional). Fails on syntax the converter cannot express as a grammar.
int corral_regex_to_gbnf(const char *pattern, char **out);

/// A grammar for exactly one of `count` literal strings.
int corral_choice_to_gbnf(const char *const *choices, size_t count, char **out);

/// A model's chat templates, parsed by llama.cpp's Jinja engine (common/chat.h), as
/// llama-server renders them.
typedef struct corral_chat_templates corral_chat_templates;

/// Parses `model`'s own template, or `override_template` when it is not NULL or empty.
/// Returns NULL with *error set (malloc'd) when the template does not parse.
corral_chat_templates *corral_chat_templates_init(const struct llama_model *model, const char *override_template,
                                                  char **error);

/// Frees what corral_chat_templates_init returned.
void corral_chat_templates_free(corral_chat_templates *templates);

/// Rendering a conversation (with tools or not) is corral_chat_prepare, in corral_chat.h.

/// The template's source text (malloc'd).
char *corral_chat_templates_source(const corral_chat_templates *templates);

/// Starts sending standard error (fd 2) to a private in-memory file, so that what
/// llama.cpp prints there (a grammar parse error, with the grammar) can be read back
/// instead of landing in the server's log. Not reentrant: the caller serializes.
/// Returns 0, or -1 when capturing is not possible (stderr is then left alone).
int corral_stderr_capture_begin(void);

/// Restores standard error and returns (malloc'd) at most `limit` bytes of what was
/// written to it since corral_stderr_capture_begin.
char *corral_stderr_capture_end(size_t limit);

/// Frees a string returned through `out`.
void corral_common_free(char *text);

#ifdef __cplusplus
}
#endif

// The chat layer (templates with tools, output parsing, the reasoning budget).
#include "corral_chat.h"
