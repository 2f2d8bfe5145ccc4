"""The official openai SDK, pointed at a live Corral, works unchanged."""
import threading

import openai
import pytest

MODEL = "smollm2"
ASK = [{"role": "user", "content": "Name three colors."}]


def test_models_list_shows_the_served_model(client):
    ids = [m.id for m in client.models.list()]
    assert ids == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL


def test_chat_completion_has_text_and_exact_usage(client):
    r = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=20, temperature=0)
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 20
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.object == "chat.completion"


def test_streamed_chat_matches_the_non_streamed_text(client):
    whole = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=24, temperature=0)
    stream = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=24, temperature=0, stream=True,
                                            stream_options={"include_usage": True})
    parts, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            parts.append(c.delta.content or "")
            finish = c.finish_reason or finish
    assert "".join(parts) == whole.choices[0].message.content
    assert finish == whole.choices[0].finish_reason
    assert usage.completion_tokens == whole.usage.completion_tokens
    assert usage.prompt_tokens == whole.usage.prompt_tokens


def test_text_completions_with_prompt_list_and_n(client):
    r = client.completions.create(model=MODEL, prompt=["Once upon a time", "The sky is"], n=2, max_tokens=6,
                                  temperature=0.8, seed=3)
    assert sorted(c.index for c in r.choices) == [0, 1, 2, 3]
    assert all(c.text for c in r.choices)
    assert r.usage.completion_tokens <= 24


def test_streamed_completion_ends_and_counts(client):
    texts = [c.choices[0].text for c in client.completions.create(model=MODEL, prompt="Hello", max_tokens=5,
                                                                     stream=True) if c.choices]
    assert "".join(texts)


def test_n2_gives_two_choices(client):
    r = client.chat.completions.create(model=MODEL, messages=ASK, n=2, max_tokens=12, temperature=1.0, seed=11)
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.message.content for c in r.choices)


def test_same_seed_same_text(client):
    a = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=16, temperature=0.9, seed=1234)
    b = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=16, temperature=0.9, seed=1234)
    assert a.choices[0].message.content == b.choices[0].message.content


def test_stop_sequence_ends_generation_and_is_not_returned(client):
    free = client.completions.create(model=MODEL, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0)
    text = free.choices[0].text
    stop = text.strip()[:2] if len(text.strip()) >= 2 else text
    r = client.completions.create(model=MODEL, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0, stop=[stop])
    assert stop not in r.choices[0].text
    assert r.choices[0].finish_reason == "stop"


def test_logprobs_cover_every_token(client):
    r = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, temperature=0, logprobs=True,
                                       top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for t in content:
        assert t.logprob <= 0
        assert len(t.top_logprobs) == 3
        assert t.top_logprobs[0].logprob >= t.top_logprobs[-1].logprob


@pytest.mark.parametrize("kwargs", [{"temperature": -1}, {"top_p": 0}, {"max_tokens": 0}, {"n": 0},
                                    {"max_tokens": 10_000_000}])
def test_bad_parameters_raise_bad_request(client, kwargs):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=ASK, **kwargs)
    assert e.value.status_code == 400


def test_context_length_exceeded_has_its_code(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=10_000_000)
    assert e.value.code == "context_length_exceeded" and e.value.param == "messages"
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model=MODEL, prompt="Hi", max_tokens=10_000_000)
    assert e.value.code == "context_length_exceeded" and e.value.param == "prompt"


def test_unknown_model_raises_not_found(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=ASK)


def test_full_queue_raises_rate_limit_with_retry_after():
    from conftest import Server
    from openai import OpenAI
    s = Server("--max-num-seqs", "1", "--max-queue-requests", "1")
    try:
        c = OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0)
        errors = []

        def call():
            try:
                c.completions.create(model=MODEL, prompt="Tell me a long story.", max_tokens=64,
                                     extra_body={"ignore_eos": True, "min_tokens": 64})
            except openai.RateLimitError as e:
                errors.append(e)
        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors, "four requests against one slot and a queue of one: some must be refused"
        assert int(errors[0].response.headers["retry-after"]) >= 1
    finally:
        assert s.stop() == 0


def test_api_keys_guard_everything_but_health(tmp_path):
    import urllib.request
    from conftest import Server
    from openai import OpenAI
    keys = tmp_path / "keys"
    keys.write_text("# team keys\nsecret-one\n\nsecret-two\n")
    s = Server("--api-keys-file", str(keys))
    try:
        with pytest.raises(openai.AuthenticationError):
            OpenAI(base_url=s.url + "/v1", api_key="wrong", max_retries=0).models.list()
        ok = OpenAI(base_url=s.url + "/v1", api_key="secret-two", max_retries=0)
        assert [m.id for m in ok.models.list()] == [MODEL]
        with urllib.request.urlopen(s.url + "/v1/health/ready", timeout=5) as r:
            assert r.status == 200
    finally:
        assert s.stop() == 0


def test_jsonl_logs_are_json_and_never_hold_prompts():
    import json
    from conftest import Server
    from openai import OpenAI
    s = Server(env={"NIM_JSONL_LOGGING": "1", "NIM_LOG_LEVEL": "info"})
    try:
        OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0).completions.create(
            model=MODEL, prompt="my very private prompt", max_tokens=3)
    finally:
        assert s.stop() == 0
    lines = s.proc.stderr.read().decode().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert any(r["msg"] == "request" and r["path"] == "/v1/completions" and r["status"] == "200" for r in records)
    assert all("private prompt" not in line for line in lines)
