"""Speculative decoding (prompt lookup, on by default) through the official `openai` SDK on
the real engine: the same text with it on and off, greedy and seeded, the drafts counted
in the metrics under Corral's and vLLM's names, and per request in `stats`."""
import re
import subprocess
import urllib.request

import pytest
from openai import OpenAI

from conftest import BIN, MODEL, Server, same_greedy_text

CODE = '''class Inventory:
    def __init__(self):
        self.items = {}

    def add(self, name, count):
        self.items[name] = self.items.get(name, 0) + count

    def remove(self, name, count):
        if self.items.get(name, 0) < count:
            raise ValueError("not enough " + name)
        self.items[name] -= count

    def total(self):
        return sum(self.items.values())
'''
REWRITE = "```python\n" + CODE + "```\n\nRepeat the code above exactly, with `items` renamed to `stock`."
PROMPTS = [REWRITE, "List the days of the week, one per line, then list them again in the same order.",
           "Write a haiku about the sea.", "What is 17 times 23? Explain step by step."]


@pytest.fixture(scope="module")
def off():
    s = Server("--max-num-seqs", "8", "--kv-cache-tokens", "8192", "--speculative-method", "off", "--per-req-metrics")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def on():
    s = Server("--max-num-seqs", "8", "--kv-cache-tokens", "8192", "--per-req-metrics")
    yield s
    s.stop()


def chat(server, prompt, **kw):
    client = OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
    return client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": prompt}], **kw)


def metrics(server):
    with urllib.request.urlopen(server.url + "/v1/metrics") as r:
        text = r.read().decode()
    def value(name, labels=""):
        m = re.search(rf'^{re.escape(name)}{{model_name="smollm2"{labels}}} (\S+)$', text, re.M)
        return float(m.group(1)) if m else None
    return value


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_text_is_the_same_with_drafts(on, off, prompt):
    kw = dict(temperature=0, max_tokens=120, logprobs=True, top_logprobs=2)
    a = chat(on, prompt, **kw)
    b = chat(off, prompt, **kw)
    if same_greedy_text(a, b):
        assert a.choices[0].message.content == b.choices[0].message.content


def test_seeded_sampling_is_the_same_with_drafts(on, off):
    # A prompt neither server has seen: a prefix-cache hit on KV computed in another batch
    # shape changes the logits in their last bits, which can move a sampled token with or
    # without drafts.
    prompt = REWRITE.replace("`stock`", "`goods`")
    kw = dict(temperature=0.7, top_p=0.9, seed=1234, max_tokens=120, logprobs=True, top_logprobs=2)
    a = chat(on, prompt, **kw).choices[0].logprobs.content
    b = chat(off, prompt, **kw).choices[0].logprobs.content
    # The same draws from the same seed give the same tokens for as long as the logits are
    # the same; once rounding has moved them (see same_greedy_text), a draw near a boundary
    # may fall either way. A verification that drew differently diverges before that.
    moved = False
    for x, y in zip(a, b):
        moved = moved or abs(x.logprob - y.logprob) > 1e-4 or any(
            abs(p.logprob - q.logprob) > 1e-4 for p, q in zip(x.top_logprobs, y.top_logprobs) if p.token == q.token)
        if x.token != y.token:
            assert moved, f"diverged at {y.token!r} vs {x.token!r} with the logits still equal"
            break
    else:
        assert len(a) == len(b)


def test_a_repeating_answer_is_drafted_and_counted(on):
    before = metrics(on)
    r = chat(on, REWRITE, temperature=0, max_tokens=150).model_dump()
    after = metrics(on)
    stats = r["stats"]
    assert stats["draft_tokens"] > 0 and 0 < stats["draft_tokens_accepted"] <= stats["draft_tokens"]
    assert stats["draft_acceptance_rate"] == pytest.approx(stats["draft_tokens_accepted"] / stats["draft_tokens"])
    # The answer repeats its prompt, so whole runs of drafts are accepted.
    assert stats["draft_tokens_accepted"] >= 20
    for name in ("spec_decode_num_draft_tokens_total", "vllm:spec_decode_num_draft_tokens_total"):
        assert after(name) - (before(name) or 0) == stats["draft_tokens"]
    for name in ("spec_decode_num_accepted_tokens_total", "vllm:spec_decode_num_accepted_tokens_total"):
        assert after(name) - (before(name) or 0) == stats["draft_tokens_accepted"]
    assert after("vllm:spec_decode_num_drafts_total") > 0
    first = after("vllm:spec_decode_num_accepted_tokens_per_pos_total", ',position="0"')
    assert first is not None and first >= (after("vllm:spec_decode_num_accepted_tokens_per_pos_total", ',position="1"') or 0)


def test_off_drafts_nothing(off):
    r = chat(off, REWRITE, temperature=0, max_tokens=40).model_dump()
    assert "draft_tokens" not in r["stats"]
    assert (metrics(off)("spec_decode_num_draft_tokens_total") or 0) == 0


def test_streaming_with_drafts_delivers_every_token(on):
    client = OpenAI(base_url=on.url + "/v1", api_key="unused", max_retries=0)
    whole = chat(on, REWRITE, temperature=0, max_tokens=100).choices[0].message.content
    stream = client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": REWRITE}],
                                            temperature=0, max_tokens=100, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == whole


def test_metadata_says_what_is_in_effect(on):
    import json
    with urllib.request.urlopen(on.url + "/v1/metadata") as r:
        settings = json.load(r)["settings"]
    assert settings["NIM_SPECULATIVE_METHOD"] == "ngram"
    assert settings["NIM_SPECULATIVE_NUM_TOKENS"] == "8"


def test_a_draft_model_gives_the_same_text(off):
    # The served model as its own draft: greedy drafts it would sample itself.
    s = Server("--max-num-seqs", "4", "--kv-cache-tokens", "4096", "--per-req-metrics",
               "--speculative-method", "draft", "--speculative-draft-model", MODEL)
    try:
        kw = dict(temperature=0, max_tokens=100, logprobs=True, top_logprobs=2)
        for prompt in PROMPTS[:3]:
            a = chat(s, prompt, **kw)
            same_greedy_text(a, chat(off, prompt, **kw))
            stats = a.model_dump()["stats"]
            # Not all: the draft decodes one position at a time and the target verifies a batch
            # of them, and the CPU kernels round the two differently near a tie.
            assert stats["draft_tokens"] > 0 and stats["draft_acceptance_rate"] > 0.75, stats
        with urllib.request.urlopen(s.url + "/v1/metadata") as r:
            import json
            settings = json.load(r)["settings"]
        assert settings["NIM_SPECULATIVE_METHOD"] == "draft" and settings["NIM_SPECULATIVE_DRAFT_MODEL"] == MODEL
    finally:
        s.stop()


@pytest.mark.parametrize("args, message", [
    (["--speculative-method", "eagle"], "NIM_SPECULATIVE_METHOD"),
    (["--speculative-num-tokens", "0"], "NIM_SPECULATIVE_NUM_TOKENS=0"),
    (["--speculative-ngram-min", "5", "--speculative-ngram-max", "3"], "NIM_SPECULATIVE_NGRAM_MIN=5"),
    (["--speculative-method", "draft"], "NIM_SPECULATIVE_DRAFT_MODEL"),
    (["--speculative-draft-model", MODEL], "NIM_SPECULATIVE_METHOD=ngram"),
])
def test_bad_settings_are_refused_by_name(args, message):
    p = subprocess.run([BIN, "serve", "--model", MODEL, "--check-config", *args], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and message in p.stderr + p.stdout
