"""A thinking model's reasoning, split from its answer, on the real engine.

The checked-in template (pytests/templates/thinking.jinja, in the shape of Qwen3's) opens a
<think> section at the start of the assistant's turn. SmolLM2 is not a thinking model, so a
grammar makes it write `reasoning</think>\\n\\nThe answer is N.`; llama.cpp's parser for the
template then splits the two. The thinking budget is enforced by llama.cpp's
reasoning-budget sampler, which forces the end tag when the budget is spent.
"""
import json
import os
import urllib.request

import pytest
from openai import OpenAI

from conftest import Server

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "thinking.jinja")
# Lowercase words until the end tag, then the answer: the end tag can come after any token,
# so a forced one always fits.
GRAMMAR = r'root ::= [a-z ]+ "</think>" "\n\nThe answer is " [0-9]+ "."'
ASK = [{"role": "user", "content": "What is two plus two?"}]


def start(fmt=None):
    return Server("--chat-template-file", TEMPLATE, env={"NIM_REASONING_FORMAT": fmt} if fmt else None)


@pytest.fixture(scope="module")
def split():
    s = start()
    yield s
    s.stop()


def sdk(server):
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def ask(server, stream=False, **extra):
    """(reasoning, content, finish reason, completion tokens) of one greedy answer."""
    args = dict(model="smollm2", messages=ASK, temperature=0, max_tokens=60,
                extra_body={"grammar": GRAMMAR, **extra.pop("extra_body", {})}, **extra)
    if not stream:
        r = sdk(server).chat.completions.create(**args)
        m = r.choices[0].message
        return (m.model_extra or {}).get("reasoning_content"), m.content, r.choices[0].finish_reason, r.usage.completion_tokens
    reasoning, content, finish = [], [], None
    for chunk in sdk(server).chat.completions.create(stream=True, **args):
        for choice in chunk.choices:
            delta = choice.delta
            reasoning.append((delta.model_extra or {}).get("reasoning_content") or "")
            content.append(delta.content or "")
            finish = choice.finish_reason or finish
    return "".join(reasoning) or None, "".join(content), finish, None


def token_count(server, text):
    body = json.dumps({"prompt": text, "add_special_tokens": False}).encode()
    req = urllib.request.Request(server.url + "/tokenize", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["count"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_reasoning_and_answer_are_split(split, stream):
    reasoning, content, finish, _ = ask(split, stream=stream, extra_body={"nvext": {"max_thinking_tokens": 8}})
    assert reasoning and "</think>" not in reasoning and reasoning.strip(), reasoning
    assert content.startswith("The answer is ") and "think" not in content, content
    assert finish == "stop"


def test_the_budget_cuts_the_thinking_at_its_limit(split):
    unlimited, content, finish, _ = ask(split)
    assert finish == "length" and not content, "without a budget the grammar lets it think until max_tokens"
    for budget in (4, 12):
        reasoning, content, finish, _ = ask(split, extra_body={"nvext": {"max_thinking_tokens": budget}})
        assert finish == "stop" and content.startswith("The answer is ")
        assert token_count(split, reasoning) <= budget + 1, (budget, reasoning)
        assert unlimited.startswith(reasoning.rstrip()), "the budget changed what was thought, not only where it ends"


def test_reasoning_effort_none_turns_thinking_off(split):
    on = sdk(split).chat.completions.create(model="smollm2", messages=ASK, max_tokens=1)
    off = sdk(split).chat.completions.create(model="smollm2", messages=ASK, max_tokens=1, reasoning_effort="none")
    # The template writes an empty <think></think> section when thinking is off.
    assert off.usage.prompt_tokens > on.usage.prompt_tokens


def test_metadata_says_the_template_thinks(split):
    with urllib.request.urlopen(split.url + "/v1/metadata") as r:
        chat = json.load(r)["chat"]
    assert chat["thinking"] is True and chat["reasoning_format"] == "split"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_inline_keeps_and_hidden_drops_the_reasoning(stream):
    for fmt in ("inline", "hidden"):
        s = start(fmt)
        try:
            reasoning, content, finish, _ = ask(s, stream=stream, extra_body={"nvext": {"max_thinking_tokens": 6}})
        finally:
            s.stop()
        assert reasoning is None and finish == "stop"
        if fmt == "inline":
            assert "</think>" in content and content.rstrip().endswith(".")
        else:
            assert content.startswith("The answer is "), content
