// A C face for llama.cpp's chat layer (common/chat.h): rendering a request with tools
// through the model's Jinja template into a prompt, a tool-call grammar and a parser, and
// parsing the model's output back into content, reasoning and tool calls, as llama-server
// does. Only LlamaEngine imports it. Requests and results cross as JSON text.
#pragma once
#include <stddef.h>
#include <stdint.h>


struct llama_vocab;
/// See corral_common.h.
typedef struct corral_chat_templates corral_chat_templates;
struct llama_sampler;

#ifdef __cplusplus
extern "C" {
#endif

/// Renders a chat request. `request_json` is an object with `messages` (OpenAI's format:
/// tool_calls, tool_call_id and content parts included), and optionally `tools` (OpenAI's
/// format), `tool_choice` ("auto", "required" or "none"), `parallel_tool_calls`,
/// `reasoning_format` ("none" or "deepseek"), `enable_thinking` and `reasoning_effort`
/// (handed to templates that read it).
///
/// Returns 0 with *out a JSON object: prompt, format, grammar, grammar_lazy,
/// trigger_patterns (regexes), trigger_tokens, preserved_tokens, grammar_prefill (token
/// ids the template already put in the prompt, for a grammar that starts there),
/// additional_stops, generation_prompt, parser, supports_thinking, thinking_start
/// (tokens) and thinking_end (token sequences). Nonzero with *out the reason otherwise.
int corral_chat_prepare(const corral_chat_templates *templates, const struct llama_vocab *vocab,
                        const char *request_json, char **out);

/// What the template supports, as llama.cpp's Jinja analysis finds it: a JSON object of
/// booleans (supports_tools, supports_tool_calls, supports_parallel_tool_calls, …), malloc'd.
char *corral_chat_templates_caps(const corral_chat_templates *templates);

/// Parses one choice's output incrementally, as llama-server's result state does.
typedef struct corral_chat_parser corral_chat_parser;

/// A parser for output rendered with `plan_json` (what corral_chat_prepare returned).
/// `reasoning_format` is "none" or "deepseek". NULL when the plan does not load.
corral_chat_parser *corral_chat_parser_new(const char *plan_json, const char *reasoning_format);

/// Frees what corral_chat_parser_new returned.
void corral_chat_parser_free(corral_chat_parser *parser);

/// Adds generated text and returns 0 with *out a JSON array of deltas, each one of
/// {"reasoning_content": s}, {"content": s} or {"index": i, "id": s?, "name": s?,
/// "arguments": s}. A tool call's id and name come once, in its first delta, when the name
/// is complete. `is_final` is 1 for the last call. Nonzero with *out the reason when the
/// output does not match the format (only possible when final).
int corral_chat_parser_update(corral_chat_parser *parser, const char *added, int is_final, char **out);

/// The message parsed so far, as JSON: {"content", "reasoning_content", "tool_calls":
/// [{"id", "name", "arguments"}]} (malloc'd).
char *corral_chat_parser_message(const corral_chat_parser *parser);

/// llama.cpp's reasoning-budget sampler (common/reasoning-budget.h) for a template's
/// thinking section: it watches for `start`, counts tokens inside the section and, once
/// `budget` are spent, forces the first end sequence; a negative budget only tracks the
/// section. `ends` holds `end_count` sequences back to back, of `end_lengths` tokens each.
/// `prefill` is the turn's opening the template wrote (it may open the section). NULL when
/// `start` or `ends` is empty.
struct llama_sampler *corral_reasoning_budget_new(const struct llama_vocab *vocab, const int32_t *start,
                                                  size_t start_count, const int32_t *ends, const size_t *end_lengths,
                                                  size_t end_count, const int32_t *prefill, size_t prefill_count,
                                                  int budget);

/// Where a reasoning-budget sampler is: 0 idle (before the section), 1 counting (inside
/// it), 2 forcing the end, 3 waiting for a character to complete, 4 done (after it).
int corral_reasoning_budget_state(const struct llama_sampler *sampler);

/// The end sequence that closed the section (set *tokens, return its length), or 0.
size_t corral_reasoning_budget_end_match(const struct llama_sampler *sampler, const int32_t **tokens);

#ifdef __cplusplus
}
#endif
