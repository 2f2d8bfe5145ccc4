"""Tenants from the keys file, on a live server with the `openai` SDK: fair share lets a
light tenant start at once beside a flooding one, the tenant-labelled counters and
`/v1/usage` match what the clients saw, quotas answer 429 with Retry-After (400 when a
request could never fit), and SIGHUP reloads the file."""
import concurrent.futures
import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from openai import BadRequestError, OpenAI, RateLimitError

from conftest import BIN, Server

KEYS = """# key tenant options
sk-heavy heavy
sk-light light
sk-ops ops admin=1
sk-capped capped max_concurrency=2 tokens_per_minute=400
"""
ASK = [{"role": "user", "content": "Tell me a story about a lighthouse."}]


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tenants") / "keys"
    path.write_text(KEYS)
    return path


@pytest.fixture(scope="module")
def server(keys_file):
    s = Server("--max-num-seqs", "4", env={"NIM_API_KEYS_FILE": str(keys_file), "NIM_PER_REQ_METRICS_ENABLE": "1",
                                           "NIM_LOG_LEVEL": "info"})
    yield s
    s.stop()


def client(server, key):
    return OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def get(server, path, key="sk-ops"):
    req = urllib.request.Request(server.url + path, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req) as r:
        return r.read().decode()


def usage(server, key="sk-ops"):
    return {t["tenant"]: t for t in json.loads(get(server, "/v1/usage", key))["data"]}


def metric(text, name, tenant):
    m = re.search(rf'^{name}{{[^}}]*tenant="{tenant}"[^}}]*}} ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def test_a_light_tenant_starts_at_once_beside_a_flood_and_the_counters_match(server):
    seen = {"heavy": [0, 0], "light": [0, 0]}
    queue = {"heavy": [], "light": []}

    def ask(tenant, i):
        r = client(server, f"sk-{tenant}").chat.completions.create(
            model="smollm2", messages=ASK, max_tokens=24, temperature=0.8, seed=i)
        return tenant, r.usage.prompt_tokens, r.usage.completion_tokens, r.model_extra["stats"]["queue_time"]

    with concurrent.futures.ThreadPoolExecutor(26) as pool:
        futures = [pool.submit(ask, "heavy", i) for i in range(24)]
        time.sleep(1.5)  # the flood holds every slot and a queue of 20
        futures += [pool.submit(ask, "light", 100 + i) for i in range(2)]
        for f in futures:
            tenant, prompt, completion, waited = f.result()
            seen[tenant][0] += prompt
            seen[tenant][1] += completion
            queue[tenant].append(waited)
    heavy = sorted(queue["heavy"])
    # The light tenant is under its share (half the slots), so it takes a slot from the
    # flood at the next step instead of waiting behind twenty requests.
    assert max(queue["light"]) < 0.25 * heavy[len(heavy) // 2], (queue["light"], heavy)

    by_tenant = usage(server)
    text = get(server, "/v1/metrics")
    for tenant, (prompt, completion) in seen.items():
        assert by_tenant[tenant]["prompt_tokens"] == prompt
        assert by_tenant[tenant]["generation_tokens"] == completion
        assert metric(text, "tenant_prompt_tokens_total", tenant) == prompt
        assert metric(text, "tenant_generation_tokens_total", tenant) == completion
    assert by_tenant["heavy"]["requests"]["succeeded"] == 24 and by_tenant["light"]["requests"]["succeeded"] == 2


def test_a_tenant_sees_only_its_own_usage(server):
    assert set(usage(server, "sk-light")) == {"light"}
    assert {"heavy", "light", "ops", "capped"} <= set(usage(server, "sk-ops"))


def test_quotas_answer_429_with_retry_after(server):
    capped = client(server, "sk-capped")
    # tokens_per_minute=400: the first request reserves its prompt plus 300 tokens.
    first = capped.chat.completions.create(model="smollm2", messages=ASK, max_tokens=300, temperature=0,
                                           extra_body={"ignore_eos": True})
    assert first.usage.completion_tokens > 0
    with pytest.raises(RateLimitError) as e:
        capped.chat.completions.create(model="smollm2", messages=ASK, max_tokens=300)
    assert e.value.body["code"] == "tokens_per_minute" and "tokens_per_minute" in e.value.body["message"]
    assert int(e.value.response.headers["retry-after"]) >= 1
    # A request that could never fit the bucket is a 400, not a 429.
    with pytest.raises(BadRequestError) as e:
        capped.chat.completions.create(model="smollm2", messages=ASK, max_tokens=1000)
    assert "tokens_per_minute" in e.value.body["message"]
    assert usage(server)["capped"]["quota_rejections"] == {"tokens_per_minute": 1}
    text = get(server, "/v1/metrics")
    assert re.search(r'tenant_quota_rejections_total\{[^}]*limit="tokens_per_minute"[^}]*tenant="capped"[^}]*\} 1\b', text) \
        or re.search(r'tenant_quota_rejections_total\{[^}]*tenant="capped"[^}]*limit="tokens_per_minute"[^}]*\} 1\b', text)


def test_max_concurrency_is_a_429_while_two_streams_run(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-two two max_concurrency=2\n")
    s = Server(env={"NIM_API_KEYS_FILE": str(keys)})
    try:
        two = client(s, "sk-two")
        streams = [two.chat.completions.create(model="smollm2", messages=ASK, max_tokens=200, stream=True)
                   for _ in range(2)]
        for stream in streams:
            next(iter(stream))  # both are running
        with pytest.raises(RateLimitError) as e:
            two.chat.completions.create(model="smollm2", messages=ASK, max_tokens=4)
        assert e.value.body["code"] == "max_concurrency"
        assert e.value.response.headers["retry-after"] == "1"
        for stream in streams:
            stream.close()
        deadline = time.time() + 10
        while True:  # the closed streams give their room back
            try:
                two.chat.completions.create(model="smollm2", messages=ASK, max_tokens=4)
                break
            except RateLimitError:
                assert time.time() < deadline
                time.sleep(0.2)
    finally:
        s.stop()


def test_sighup_reloads_the_keys_and_a_broken_file_keeps_them(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-old old\n")
    s = Server(env={"NIM_API_KEYS_FILE": str(keys), "NIM_LOG_LEVEL": "info"})
    try:
        assert client(s, "sk-old").models.list().data
        keys.write_text("sk-old old\nsk-new new weight=3\n")
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while True:
            try:
                client(s, "sk-new").models.list()
                break
            except Exception:
                assert time.time() < deadline, "the new key never worked"
                time.sleep(0.2)
        assert usage(s, "sk-new")["new"]["limits"]["weight"] == 3
        keys.write_text("sk-old old\nsk-secret-broken new weight=-1\n")
        s.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert client(s, "sk-new").models.list().data, "a broken file must keep the keys in force"
    finally:
        s.stop()
    log = s.proc.stderr.read().decode()
    assert "kept the API keys in force" in log and "line 2" in log
    assert "sk-secret-broken" not in log


def test_a_malformed_keys_file_stops_startup_naming_the_line(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-fine\nsk-secret-x team colour=blue\n")
    run = subprocess.run([BIN, "serve", "--check-config"], env={"NIM_API_KEYS_FILE": str(keys), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "line 2" in out and "colour" in out
    assert "sk-secret-x" not in out
