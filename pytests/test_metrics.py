"""Prometheus metrics against real tools: promtool, a real Prometheus 2.x server scraping
Corral, the Grafana dashboard's queries, and the alert rules."""
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, Server, call, free_port

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "corral-dashboard.json")
RULES = os.path.join(ROOT, "deploy", "prometheus", "corral-alerts.yaml")


def scrape(url, path="/v1/metrics", headers=None):
    req = urllib.request.Request(url + path, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{(name, frozenset(labels)): value} from an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, f"unparsable exposition line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(text, name, **labels):
    found = [v for (n, ls), v in samples(text).items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, f"{name}{labels}: {len(found)} series"
    return found[0]


def complete(url, max_tokens=8, stream=False):
    body = {"prompt": "Count to ten:", "max_tokens": max_tokens, "min_tokens": max_tokens, "ignore_eos": True,
            "temperature": 0, "stream": stream}
    req = urllib.request.Request(url + "/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read().decode() if stream else json.load(r)


def test_every_metric_carries_model_name_and_the_nim_and_vllm_names(server):
    complete(server.url)
    text = scrape(server.url)
    assert scrape(server.url, "/metrics").count("\n# TYPE") == text.count("\n# TYPE")
    names = {n for n, _ in samples(text)}
    for name in ["num_requests_running", "num_requests_waiting", "num_request_max", "gpu_cache_usage_perc",
                 "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                 "prompt_tokens_total", "generation_tokens_total", "request_success_total", "request_failure_total",
                 "time_to_first_token_seconds_bucket", "time_per_output_token_seconds_bucket",
                 "e2e_request_latency_seconds_bucket", "request_prompt_tokens_bucket", "request_generation_tokens_bucket",
                 "num_preemptions_total", "prefix_cache_hits_total", "prefix_cache_queries_total", "slot_moves_total",
                 "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total", "prefix_cache_host_hits_total",
                 "prefix_cache_host_bytes",
                 "iteration_phase_seconds_total",
                 "request_queue_time_seconds_bucket", "iteration_duration_seconds_bucket", "iteration_tokens_bucket",
                 "iteration_running_sequences_bucket", "http_requests_total", "http_requests_in_flight",
                 "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"]:
        assert name in names, name
    for (name, labels) in samples(text):
        assert ("model_name", "smollm2") in labels, name
    assert value(text, "num_request_max") == 8
    # Defaults reach down to 1 ms for TTFT and ITL, and to 50 ms end to end.
    assert ("le", "0.001") in next(ls for n, ls in samples(text) if n == "time_to_first_token_seconds_bucket")
    assert any(("le", "0.05") in ls for n, ls in samples(text) if n == "e2e_request_latency_seconds_bucket")
    assert value(text, "request_success_total", finished_reason="length", endpoint="/v1/completions") >= 1
    assert value(text, "http_requests_total", route="/v1/completions", method="POST", status="200") >= 1
    # Every route that queues work has its own outcome series, from the start.
    for endpoint in ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings"):
        assert value(text, "request_success_total", finished_reason="stop", endpoint=endpoint) >= 0
        assert value(text, "request_failure_total", reason="overload", endpoint=endpoint) >= 0


def test_promtool_accepts_the_exposition():
    assert PROMTOOL, "promtool is missing: `make test` installs Debian's prometheus package"
    # A fresh server, so the check sees every family, including error and 404 series.
    s = Server()
    try:
        complete(s.url)
        complete(s.url, stream=True)
        urllib.request.urlopen(s.url + "/v1/models").read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(s.url + "/no/such/path")
        text = scrape(s.url)
    finally:
        s.stop()
    run = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    problems = [l for l in (run.stdout + run.stderr).splitlines() if l.strip()]
    # promtool's linter objects to ':' in names; vLLM's names have one, and gateways and
    # dashboards read them by that name, so those lines (the three gauges, the two
    # prefix-cache counters, the speculative-decoding counters, and the cache configuration
    # the endpoint picker reads) are the only ones allowed.
    assert all(l.startswith("vllm:") and "should not contain ':'" in l for l in problems), problems
    aliases = {l.split()[0] for l in problems}
    assert {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
            "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total"} <= aliases, problems
    assert aliases <= {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                       "vllm:prefix_cache_hits_total", "vllm:prefix_cache_queries_total", "vllm:cache_config_info",
                       "vllm:spec_decode_num_drafts_total", "vllm:spec_decode_num_draft_tokens_total",
                       "vllm:spec_decode_num_accepted_tokens_total",
                       "vllm:spec_decode_num_accepted_tokens_per_pos_total"}, problems
    without_aliases = "\n".join(l for l in text.splitlines() if "vllm:" not in l) + "\n"
    clean = subprocess.run([PROMTOOL, "check", "metrics"], input=without_aliases, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_gauges_follow_eight_running_streams(server):
    results = []
    threads = [threading.Thread(target=lambda: results.append(complete(server.url, max_tokens=48, stream=True)))
               for _ in range(8)]
    for t in threads:
        t.start()
    seen_running, seen_kv = 0, 0.0
    deadline = time.time() + 60
    while any(t.is_alive() for t in threads) and time.time() < deadline:
        text = scrape(server.url)
        running = value(text, "num_requests_running")
        if running == 8:
            seen_running = 8
            seen_kv = max(seen_kv, value(text, "gpu_cache_usage_perc"))
            assert value(text, "vllm:num_requests_running") == 8
            assert value(text, "vllm:kv_cache_usage_perc") == value(text, "gpu_cache_usage_perc")
        time.sleep(0.05)
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8 and all("[DONE]" in r for r in results)
    assert seen_running == 8, "num_requests_running never showed all 8 streams"
    assert seen_kv > 0
    text = scrape(server.url)
    assert value(text, "num_requests_running") == 0
    assert value(text, "gpu_cache_usage_perc") == 0
    assert value(text, "num_requests_waiting") == 0


def prom_query(base, query):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return [float(v["value"][1]) for v in body["data"]["result"]]


def wait_for(fn, timeout=30, interval=0.5):
    deadline = time.time() + timeout
    while True:
        result = fn()
        if result or time.time() > deadline:
            return result
        time.sleep(interval)


def test_a_real_prometheus_scrapes_corral(server):
    assert PROMETHEUS, "prometheus is missing: `make test` installs Debian's prometheus package"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    "  - job_name: corral\n"
                    "    metrics_path: /v1/metrics\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{server.port}']}}]\n")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            window = "[10m]"
            assert wait_for(lambda: _up(base)), "Prometheus never scraped Corral"
            assert wait_for(lambda: prom_query(base, f"count_over_time(generation_tokens_total{window})"))
            replies = [complete(server.url, max_tokens=8) for _ in range(4)]
            expected = sum(r["usage"]["completion_tokens"] for r in replies)
            assert expected == 32
            increase = f"max_over_time(generation_tokens_total{window}) - min_over_time(generation_tokens_total{window})"
            got = wait_for(lambda: prom_query(base, increase) == [expected] and [expected], timeout=20)
            assert prom_query(base, increase) == [expected], got
            p50 = wait_for(lambda: [v for v in prom_query(
                base, "histogram_quantile(0.5, sum by (le) (rate(time_to_first_token_seconds_bucket[1m])))")
                if not math.isnan(v)], timeout=20)
            assert p50 and 0 < p50[0] < 60, p50
        finally:
            prom.terminate()
            prom.wait(timeout=30)


def _up(base):
    try:
        return prom_query(base, 'up{job="corral"}') == [1.0]
    except OSError:
        return False


def test_dashboard_queries_only_metrics_that_exist(server):
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    used = set()
    for e in exprs:
        used |= set(re.findall(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{', e))
        used |= set(re.findall(r'label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)', e))
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ["throughput", "first token", "inter-token", "queue", "kv", "preemption", "prefix", "error"]:
        assert topic in titles, topic
    assert len(used) >= 12, used
    exposed = {n for n, _ in samples(scrape(server.url))}
    assert used <= exposed, used - exposed


def test_promtool_accepts_the_alert_rules():
    assert PROMTOOL
    run = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    with open(RULES) as f:
        text = f.read()
    for alert in ["CorralQueueGrowing", "CorralKVCacheNearlyFull", "CorralHighErrorRate", "CorralReadinessFlapping",
                  "CorralTTFTAboveSLO"]:
        assert alert in text


def test_failures_are_counted_by_reason(server):
    before = scrape(server.url)
    req = urllib.request.Request(server.url + "/v1/completions", data=b'{"prompt": "x", "max_tokens": 0}',
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400
    after = scrape(server.url)
    assert value(after, "request_failure_total", reason="bad_request", endpoint="/v1/completions") == \
        value(before, "request_failure_total", reason="bad_request", endpoint="/v1/completions") + 1
    assert value(after, "http_requests_total", route="/v1/completions", method="POST", status="400") >= 1


def test_responses_and_embeddings_count_under_their_own_endpoint():
    s = Server("--embeddings", "--max-num-seqs", "4", "--kv-cache-tokens", "4096")
    try:
        def post(path, body):
            return call(s, "POST", path, body)[0]
        assert post("/v1/responses", {"input": "Hi", "max_output_tokens": 4}) == 200
        assert post("/v1/embeddings", {"input": ["a", "b"]}) == 200
        assert post("/v1/embeddings", {"input": "x", "dimensions": 3}) == 400
        text = scrape(s.url)
        success = {ep: sum(v for (n, ls), v in samples(text).items()
                           if n == "request_success_total" and ("endpoint", ep) in ls)
                   for ep in ("/v1/responses", "/v1/embeddings", "/v1/chat/completions")}
        assert success == {"/v1/responses": 1, "/v1/embeddings": 2, "/v1/chat/completions": 0}
        assert value(text, "request_failure_total", reason="bad_request", endpoint="/v1/embeddings") == 1
        # The default tenant's ledger tells the routes apart too.
        assert value(text, "tenant_requests_total", tenant="default", outcome="succeeded", endpoint="/v1/embeddings") == 2
        assert value(text, "tenant_requests_total", tenant="default", outcome="succeeded", endpoint="/v1/responses") == 1
    finally:
        s.stop()


def test_per_request_stats_and_metrics_auth(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("secret-key\n")
    s = Server(env={"NIM_PER_REQ_METRICS_ENABLE": "1", "NIM_API_KEYS_FILE": str(keys),
                    "NIM_METRICS_REQUIRE_AUTH": "1", "NIM_METRICS_TTFT_BUCKETS": "0.0005,0.01,1"})
    try:
        auth = {"Authorization": "Bearer secret-key", "Content-Type": "application/json"}
        body = json.dumps({"prompt": "Hi", "max_tokens": 4, "min_tokens": 4, "ignore_eos": True}).encode()
        with urllib.request.urlopen(urllib.request.Request(s.url + "/v1/completions", data=body, headers=auth)) as r:
            stats = json.load(r)["stats"]
        assert 0 < stats["time_to_first_token"] <= stats["e2e_latency"]
        assert stats["queue_time"] >= 0 and stats["mean_inter_token_latency"] > 0 and stats["tokens_per_second"] > 0
        with pytest.raises(urllib.error.HTTPError) as e:
            scrape(s.url)
        assert e.value.code == 401
        text = scrape(s.url, headers={"Authorization": "Bearer secret-key"})
        les = {dict(ls)["le"] for n, ls in samples(text) if n == "time_to_first_token_seconds_bucket"}
        assert les == {"0.0005", "0.01", "1.0", "+Inf"} or les == {"0.0005", "0.01", "1", "+Inf"}, les
    finally:
        s.stop()
    # Without NIM_METRICS_REQUIRE_AUTH the scrape stays open while the API needs a key.
    s = Server(env={"NIM_API_KEYS_FILE": str(keys)})
    try:
        assert "num_requests_running" in scrape(s.url)
    finally:
        s.stop()
