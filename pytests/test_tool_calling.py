"""Tool calling through the official `openai` SDK, on the real engine.

- SmolLM2's own template shows no tool calls, so it gets the generic format: the tools are
  described in the system message and the reply is JSON held by a grammar.
- Two native formats, from checked-in templates set with `--chat-template-file`: Hermes
  (`<tool_call>` JSON, the shape of Qwen2.5's template) and Mistral (`[TOOL_CALLS] [...]`).
  In both, the call is parsed by llama.cpp's own parser for the template.
- Every call's arguments validate against the tool's schema (with `jsonschema`), streamed
  and not, and the SDK's stream helper assembles the same calls as a whole response.
"""
import json
import os
import urllib.request

import jsonschema
import pytest
from openai import BadRequestError, OpenAI

from conftest import Server

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string", "maxLength": 20}, "unit": {"enum": ["c", "f"]}},
                   "required": ["city", "unit"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Get the local time in a timezone",
    "parameters": {"type": "object", "properties": {"zone": {"type": "string", "maxLength": 20}},
                   "required": ["zone"], "additionalProperties": False}}}
TOOLS = [WEATHER, TIME]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def check_calls(calls, names=("get_weather", "get_time")):
    """Each call names an offered tool, has a unique id and arguments valid for its schema."""
    assert calls, "no tool calls"
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
    assert len({c.id for c in calls}) == len(calls)
    for c in calls:
        assert c.type == "function" and c.id
        assert c.function.name in names
        jsonschema.validate(json.loads(c.function.arguments), schemas[c.function.name])


def streamed_calls(client, **kwargs):
    """The calls and finish reason the SDK's stream helper assembles."""
    with client.chat.completions.stream(model="smollm2", **kwargs) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    return final.choices[0].message.tool_calls, final.choices[0].finish_reason


@pytest.fixture(scope="module")
def hermes():
    s = Server("--chat-template-file", os.path.join(TEMPLATES, "hermes.jinja"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def hermes_thinking():
    s = Server("--chat-template-file", os.path.join(TEMPLATES, "hermes-thinking.jinja"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def mistral():
    s = Server("--chat-template-file", os.path.join(TEMPLATES, "mistral.jinja"))
    yield s
    s.stop()


def sdk(server):
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def metadata(server):
    with urllib.request.urlopen(server.url + "/v1/metadata") as r:
        return json.load(r)["chat"]


# --- every format ---------------------------------------------------------------------

@pytest.mark.parametrize("family", ["server", "hermes", "mistral"], ids=["generic", "hermes", "mistral"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_required_call_is_read_back_valid(request, family, stream):
    """`required` with one call: generic JSON on SmolLM2's template, the native syntax
    (parsed by llama.cpp's parser for the template) on the checked-in ones."""
    server = request.getfixturevalue(family)
    assert metadata(server)["native_tool_calls"] is (family != "server")
    client = sdk(server)
    args = dict(messages=ASK, tools=TOOLS, tool_choice="required", parallel_tool_calls=False,
                temperature=0, max_tokens=120)
    if stream:
        calls, finish = streamed_calls(client, **args)
    else:
        r = client.chat.completions.create(model="smollm2", **args)
        calls, finish = r.choices[0].message.tool_calls, r.choices[0].finish_reason
        assert not r.choices[0].message.content
    assert len(calls) == 1 and finish == "tool_calls"
    check_calls(calls)


# --- the generic format (SmolLM2's own template) ---------------------------------------

def test_streamed_and_whole_calls_agree(client):
    args = dict(messages=ASK, tools=TOOLS, tool_choice="required", temperature=0, max_tokens=120)
    whole = client.chat.completions.create(model="smollm2", **args).choices[0].message.tool_calls
    streamed, _ = streamed_calls(client, **args)
    assert [(c.function.name, json.loads(c.function.arguments)) for c in whole] == \
        [(c.function.name, json.loads(c.function.arguments)) for c in streamed]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_named_function_is_the_one_called(client, stream):
    args = dict(messages=ASK, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}},
                temperature=0, max_tokens=120)
    if stream:
        calls, _ = streamed_calls(client, **args)
    else:
        calls = client.chat.completions.create(model="smollm2", **args).choices[0].message.tool_calls
    check_calls(calls, names=("get_time",))
    assert len(calls) == 1  # one call, as vLLM's guided named call


def test_a_call_fits_the_budget_agent_libraries_give(client):
    # Agent libraries' examples set max_tokens 64: the generic format writes compact JSON,
    # so a call fits and ends the turn by itself.
    r = client.chat.completions.create(model="smollm2", messages=ASK, tools=TOOLS, tool_choice="required",
                                       temperature=0, max_tokens=64)
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls", (choice.finish_reason, r.usage.completion_tokens)
    check_calls(choice.message.tool_calls)
    assert r.usage.completion_tokens < 40, r.usage.completion_tokens  # compact: no indentation, no newlines


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_call_cut_by_max_tokens_never_shows_the_wrapper(client, stream):
    args = dict(model="smollm2", messages=ASK, tools=TOOLS, tool_choice="required", temperature=0, max_tokens=6)
    if stream:
        chunks = list(client.chat.completions.create(stream=True, **args))
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason][-1]
    else:
        choice = client.chat.completions.create(**args).choices[0]
        content, finish = choice.message.content or "", choice.finish_reason
    assert finish == "length" and "tool_call" not in content and not content.lstrip().startswith("{"), content


def test_none_gives_no_calls(client):
    r = client.chat.completions.create(model="smollm2", messages=ASK, tools=TOOLS, tool_choice="none",
                                       temperature=0, max_tokens=24)
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content
    assert r.choices[0].finish_reason in ("stop", "length")


def test_a_generic_answer_streams_as_it_comes(client):
    args = dict(model="smollm2", messages=ASK, tools=TOOLS, temperature=0, max_tokens=80)
    whole = client.chat.completions.create(**args).choices[0].message
    assert whole.content and not whole.tool_calls, "greedy decoding answers this one in prose"
    pieces = [c.choices[0].delta.content for c in client.chat.completions.create(stream=True, **args)
              if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 3 and "".join(pieces) == whole.content


def test_parallel_calls_when_the_grammar_allows_them(client):
    # Greedy decoding makes one compact call; sampled, the model makes several in a turn
    # (seed 0 asks for both tools on this machine), each valid.
    ask = [{"role": "user", "content": "What is the weather in Paris and the local time in Tokyo?"}]
    counts = []
    for seed in range(4):
        r = client.chat.completions.create(model="smollm2", messages=ask, tools=TOOLS, tool_choice="required",
                                           parallel_tool_calls=True, temperature=1.0, seed=seed, max_tokens=200)
        calls = r.choices[0].message.tool_calls or []
        if r.choices[0].finish_reason == "tool_calls":
            check_calls(calls)
        counts.append(len(calls))
    assert max(counts) >= 2, counts


def test_auto_answers_with_content_or_valid_calls(client):
    for seed in range(3):
        m = client.chat.completions.create(model="smollm2", messages=ASK, tools=TOOLS, temperature=0.8, seed=seed,
                                           max_tokens=160).choices[0].message
        # The generic reply is JSON; whichever branch the model took, it reads back as
        # either calls or an answer, never as raw JSON.
        if m.tool_calls:
            check_calls(m.tool_calls)
        else:
            assert m.content is not None and not m.content.lstrip().startswith('{"')


@pytest.mark.parametrize("family", ["server", "hermes"], ids=["generic", "hermes"])
def test_a_two_turn_loop_completes(request, family):
    server = request.getfixturevalue(family)
    client = sdk(server)
    first = client.chat.completions.create(model="smollm2", messages=ASK, tools=TOOLS, tool_choice="required",
                                           parallel_tool_calls=False, temperature=0, max_tokens=120)
    call = first.choices[0].message.tool_calls[0]
    history = ASK + [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"}]
    final = client.chat.completions.create(model="smollm2", messages=history, tools=TOOLS, tool_choice="none",
                                           temperature=0, max_tokens=40)
    assert final.choices[0].message.content and final.choices[0].message.tool_calls is None
    assert final.choices[0].finish_reason in ("stop", "length")
    # The history is rendered: the call and its result add to the prompt.
    def prompt_tokens(messages):
        body = json.dumps({"messages": messages}).encode()
        req = urllib.request.Request(server.url + "/tokenize", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.load(r)["count"]
    assert prompt_tokens(ASK) + 10 < prompt_tokens(history)


def test_metadata_names_the_generic_format(server):
    chat = metadata(server)
    assert chat["tool_call_format"] == "generic" and chat["native_tool_calls"] is False


# --- native formats from checked-in templates ----------------------------------------

def test_native_streams_send_arguments_in_pieces(hermes):
    chunks = list(sdk(hermes).chat.completions.create(
        model="smollm2", messages=ASK, tools=TOOLS, tool_choice="required", parallel_tool_calls=False,
        temperature=0, max_tokens=120, stream=True))
    pieces = [tc for ch in chunks for tc in (ch.choices[0].delta.tool_calls or []) if ch.choices]
    assert len(pieces) > 2, "the arguments came in one piece"
    assert pieces[0].id and pieces[0].function.name == "get_weather"
    assert all(p.id is None and p.function.name is None for p in pieces[1:])
    jsonschema.validate(json.loads("".join(p.function.arguments for p in pieces)), WEATHER["function"]["parameters"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_thinking_model_thinks_within_its_budget_then_calls(hermes_thinking, stream):
    chat = metadata(hermes_thinking)
    assert chat["thinking"] is True and chat["native_tool_calls"] is True
    args = dict(model="smollm2", messages=ASK, tools=TOOLS, tool_choice="required", parallel_tool_calls=False,
                temperature=0, max_tokens=160, extra_body={"nvext": {"max_thinking_tokens": 12}})
    client = sdk(hermes_thinking)
    if stream:
        reasoning, calls, finish = "", {}, None
        for chunk in client.chat.completions.create(stream=True, **args):
            for choice in chunk.choices:
                reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
                assert not choice.delta.content, "nothing but reasoning and the call"
                for piece in choice.delta.tool_calls or []:
                    call = calls.setdefault(piece.index, {"id": piece.id, "name": piece.function.name, "arguments": ""})
                    call["arguments"] += piece.function.arguments or ""
                finish = choice.finish_reason or finish
        assert finish == "tool_calls" and len(calls) == 1
        name, arguments = calls[0]["name"], calls[0]["arguments"]
    else:
        r = client.chat.completions.create(**args)
        m = r.choices[0].message
        assert r.choices[0].finish_reason == "tool_calls" and not m.content
        reasoning = (m.model_extra or {}).get("reasoning_content") or ""
        check_calls(m.tool_calls)
        name, arguments = m.tool_calls[0].function.name, m.tool_calls[0].function.arguments
    # The budget ended the thinking (the model alone would think on), then the call came.
    assert reasoning.strip() and "<think>" not in reasoning and "</think>" not in reasoning
    assert len(reasoning.split()) <= 12
    assert name == "get_weather"
    jsonschema.validate(json.loads(arguments), WEATHER["function"]["parameters"])


# --- bad input ------------------------------------------------------------------------

def tool(**function):
    return {"type": "function", "function": function}


@pytest.mark.parametrize("extra,param", [
    ({"tools": [tool(description="no name", parameters={"type": "object"})]}, "tools.0.function.name"),
    ({"tools": [tool(name="bad name!")]}, "tools.0.function.name"),
    ({"tools": [tool(name="f", parameters="not a schema")]}, "tools.0.function.parameters"),
    ({"tools": [tool(name="f", parameters=[1, 2])]}, "tools.0.function.parameters"),
    ({"tools": [tool(name="f"), tool(name="f")]}, "tools.1.function.name"),
    ({"tools": [{"type": "retrieval"}]}, "tools.0.type"),
    ({"tools": [tool(name="f", extra=1)]}, "tools.0.function.extra"),
    ({"tools": [tool(name="f")], "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tool_choice": "sometimes"}, "tool_choice"),
    ({"tools": [tool(name="f")], "tool_choice": "required", "response_format": {"type": "json_object"}}, "tool_choice"),
    ({"functions": [{"name": "f"}]}, "functions"),
    ({"reasoning_effort": "extreme"}, "reasoning_effort"),
    ({"nvext": {"max_thinking_tokens": -1}}, "nvext.max_thinking_tokens"),
])
def test_bad_tools_are_400_naming_the_field(client, extra, param):
    with pytest.raises(BadRequestError) as e:
        client.chat.completions.create(model="smollm2", messages=ASK, max_tokens=4, extra_body=extra)
    assert e.value.body["param"] == param, e.value.body


@pytest.mark.parametrize("messages,param", [
    (ASK + [{"role": "tool", "content": "18 degrees"}], "messages.1.tool_call_id"),
    ([{"role": "user", "content": "x", "tool_calls": [{"id": "c1", "type": "function",
                                                       "function": {"name": "f", "arguments": "{}"}}]}],
     "messages.0.tool_calls"),
    ([{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}}]}],
     "messages.0.tool_calls.0.function.arguments"),
])
def test_bad_tool_history_is_400_naming_the_field(client, messages, param):
    with pytest.raises(BadRequestError) as e:
        client.chat.completions.create(model="smollm2", messages=messages, max_tokens=4)
    assert e.value.body["param"] == param, e.value.body


def test_completions_refuse_tools(client):
    with pytest.raises(BadRequestError) as e:
        client.completions.create(model="smollm2", prompt="x", max_tokens=2, extra_body={"tools": [WEATHER]})
    assert e.value.body["param"] == "tools"
