"""Prefix caching, on by default, through the real engine and the `openai` SDK: later turns
report `cached_tokens`, output with a hit is token for token the output without one (across
slot reuse, the host-RAM tier, preemption, n > 1, grammars and tool calls), and no tenant
or `cache_salt` scope ever reuses another's prompt."""
import json
import re
import threading
import time
import urllib.request

import openai
import pytest

from conftest import Server

SYSTEM = ("You are a careful assistant for a small bakery. You answer questions about bread, cakes, "
          "opening hours and prices in one or two short sentences, politely and plainly. ") * 3
QUESTIONS = ["What bread do you sell?", "Are you open on Sunday?", "How much is a cake?",
             "Do you bake rye bread?", "Can I order a birthday cake?"]


def client(server, key="none"):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def metric(server, name):
    text = urllib.request.urlopen(server.url + "/v1/metrics").read().decode()
    values = [float(v) for v in re.findall(rf"^{re.escape(name)}{{[^}}]*}} ([0-9.e+]+)$", text, re.M)]
    return sum(values)


@pytest.fixture(scope="module")
def pair():
    """One slot with the host tier, so conversations outnumber slots, and eight slots,
    where every conversation's history stays in its slot."""
    small = Server("--max-num-seqs", "1")
    big = Server("--max-num-seqs", "8")
    yield small, big
    small.stop()
    big.stop()


def ask(server, messages, **extra):
    args = dict(model="smollm2", messages=messages, temperature=0, max_tokens=16)
    args.update(extra)
    return client(server).chat.completions.create(**args)


def test_later_turns_report_cached_tokens_streamed_and_not(pair):
    warm, _ = pair
    first = ask(warm, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTIONS[0]}])
    history = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTIONS[0]},
               {"role": "assistant", "content": first.choices[0].message.content},
               {"role": "user", "content": "And cakes?"}]
    second = ask(warm, history)
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert first.usage.prompt_tokens <= cached < second.usage.prompt_tokens, second.usage
    chunks = list(client(warm).chat.completions.create(model="smollm2", messages=history, temperature=0, max_tokens=8,
                                                       stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens >= first.usage.prompt_tokens
    client(warm).completions.create(model="smollm2", prompt=SYSTEM + "Bread?", max_tokens=4, temperature=0)
    again = client(warm).completions.create(model="smollm2", prompt=SYSTEM + "Cakes?", max_tokens=4, temperature=0)
    assert again.usage.prompt_tokens_details.cached_tokens > 0.5 * again.usage.prompt_tokens


def test_interleaved_conversations_never_get_another_conversations_state(pair):
    """Five conversations, turn by turn, on one slot (every later turn comes back from the
    host tier, after four other conversations used the slot) and on eight (every history
    stays in its slot). Both reuse the same prefixes, so their greedy replies must agree
    token for token; a restore of the wrong state (llama.cpp #27148) would break that."""
    small, big = Server("--max-num-seqs", "1"), Server("--max-num-seqs", "8")
    runs = []
    for server in (small, big):
        histories = [[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}] for q in QUESTIONS]
        replies = []
        for turn in range(3):
            for i, h in enumerate(histories):
                r = ask(server, h)
                replies.append((i, turn, r.choices[0].message.content, r.usage.prompt_tokens_details.cached_tokens))
                h += [{"role": "assistant", "content": r.choices[0].message.content},
                      {"role": "user", "content": f"Thanks. One more thing, number {i}?"}]
        runs.append(replies)
    assert runs[0] == runs[1]
    assert all(cached > 0 for i, turn, _, cached in runs[0] if turn > 0)
    assert metric(small, "prefix_cache_host_hits_total") > 0, "later turns came back from the host tier"
    assert metric(big, "prefix_cache_host_hits_total") == 0
    assert metric(small, "vllm:prefix_cache_hits_total") == metric(small, "prefix_cache_hits_total") > 0
    small.stop()
    big.stop()


def test_a_hit_restored_from_the_host_tier_gives_the_cold_output(pair):
    """A request answered cold, then pushed out of its slot to the host tier by another
    conversation, then sent again: it restores all but its last prompt token and must give
    the same output token for token, for plain replies, n > 1, a json_schema grammar and a
    tool call alike. The server's step budget is the prompt less one token, so the cold run
    splits the prompt where the hit ends: llama.cpp's CPU kernels round differently for
    different ubatch splits, so only a cold run split at the same place is the same
    computation (llama-server documents the same for its prompt cache)."""
    _, big = pair
    base = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Name one bread and its price."}]
    other = [{"role": "user", "content": "Say something else entirely, please, about the weather today."}]
    schema = {"type": "object", "properties": {"bread": {"type": "string"}, "price": {"type": "number"}},
              "required": ["bread", "price"], "additionalProperties": False}
    tools = [{"type": "function", "function": {"name": "price_of", "description": "Look up a price",
                                               "parameters": {"type": "object", "properties": {"item": {"type": "string"}},
                                                              "required": ["item"]}}}]
    cases = [{}, dict(n=2, temperature=0.7, seed=5),
             dict(response_format={"type": "json_schema", "json_schema": {"name": "b", "schema": schema}}, max_tokens=40),
             dict(tools=tools, tool_choice="required", max_tokens=40)]
    for extra in cases:
        prompt_tokens = ask(big, base, **extra).usage.prompt_tokens
        s = Server("--max-num-seqs", "1", "--max-batch-tokens", str(prompt_tokens - 1))
        try:
            cold = ask(s, base, **extra)
            assert cold.usage.prompt_tokens_details.cached_tokens == 0
            ask(s, other, max_tokens=4)  # takes the slot: the first conversation goes to the host tier
            hit = ask(s, base, **extra)
            assert hit.usage.prompt_tokens_details.cached_tokens == prompt_tokens - 1, extra
            assert metric(s, "prefix_cache_host_hits_total") == prompt_tokens - 1
        finally:
            s.stop()
        def shown(r):  # tool-call ids are random by design
            return [c.message.model_dump(exclude={"tool_calls": {"__all__": {"id"}}}) for c in r.choices]
        assert shown(hit) == shown(cold), extra


def test_a_preempted_request_resumes_from_its_own_cached_kv():
    """Two long low-priority streams fill both slots; an urgent request preempts one, whose
    KV stays behind in the slot cache, and its recompute reuses it."""
    s = Server("--max-num-seqs", "2", "--scheduler-policy", "priority")
    try:
        out = {}

        def go(name, priority, question, tokens):
            r = client(s).chat.completions.create(
                model="smollm2", temperature=0, max_tokens=tokens,
                extra_body={"priority": priority, "ignore_eos": True},  # the low ones run long
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}])
            out[name] = r
        low = [threading.Thread(target=go, args=(f"low{i}", 5, QUESTIONS[i], 400)) for i in range(2)]
        for t in low:
            t.start()
        deadline = time.time() + 60
        while metric(s, "num_requests_running") < 2 and time.time() < deadline:
            time.sleep(0.1)
        go("urgent", 0, QUESTIONS[2], 8)
        for t in low:
            t.join()
        assert metric(s, "num_preemptions_total") >= 1
        for r in out.values():
            assert r.choices[0].finish_reason == "length"
        assert metric(s, "prefix_cache_hits_total") >= 100, "the resumed stream reused its own KV"
    finally:
        s.stop()


def test_no_tenant_reuses_another_tenants_prompt(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-alice alice\nsk-bob bob\n")
    s = Server(env={"NIM_API_KEYS_FILE": str(keys)})
    try:
        def cached(key, question, **extra):
            r = client(s, key).chat.completions.create(
                model="smollm2", temperature=0, max_tokens=2, extra_body=extra,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}])
            return r.usage.prompt_tokens_details.cached_tokens
        assert cached("sk-alice", QUESTIONS[0]) == 0
        assert cached("sk-bob", QUESTIONS[1]) == 0, "bob must get no hit on alice's system prompt"
        assert cached("sk-alice", QUESTIONS[2], cache_salt="user-7") == 0, "a cache_salt is a scope of its own"
        assert cached("sk-alice", QUESTIONS[3]) > 50, "alice reuses her own"
        assert cached("sk-bob", QUESTIONS[4]) > 50, "and bob his"
    finally:
        s.stop()


def test_an_empty_cache_salt_is_a_400_naming_it(pair):
    warm, _ = pair
    with pytest.raises(openai.BadRequestError) as e:
        ask(warm, [{"role": "user", "content": "hi"}], extra_body={"cache_salt": ""})
    assert e.value.body["param"] == "cache_salt"


def test_metadata_says_what_is_in_effect(pair):
    warm, _ = pair
    meta = json.load(urllib.request.urlopen(warm.url + "/v1/metadata"))
    assert meta["kv_layout"] == "partitioned"
    assert meta["prefix_cache"]["mode"] == "slots" and meta["prefix_cache"]["host_tier_bytes"] > 0
    assert meta["settings"]["NIM_ENABLE_KV_CACHE_REUSE"] == "1"
    off = Server(env={"NIM_ENABLE_KV_CACHE_REUSE": "0"})
    try:
        assert json.load(urllib.request.urlopen(off.url + "/v1/metadata"))["prefix_cache"]["mode"] == "off"
    finally:
        off.stop()
