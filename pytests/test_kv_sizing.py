"""KV auto-sizing (NIM_KV_CACHE_PERCENT): the cache gets a share of the memory left after
the weights, counted per layer, and /v1/metadata says how it was sized."""
import json
import os
import subprocess
import urllib.request

import pytest

from conftest import BIN, MODEL, Server

DECI = os.environ.get("CORRAL_TEST_DECI_MODEL", os.path.expanduser("~/.cache/corral/models/tiny-deci.gguf"))


def metadata(s):
    with urllib.request.urlopen(s.url + "/v1/metadata") as r:
        return json.load(r)


@pytest.mark.parametrize("model, per_token", [(MODEL, 30 * 2 * 3 * 64 * 2), (DECI, (2 * 2 + 2 * 1 + 2 * 4) * 32 * 2)])
def test_percent_sizes_the_cache_from_free_memory_per_layer(model, per_token):
    env = {"NIM_KV_CACHE_PERCENT": "2", "NIM_MODEL_NAME": model}
    s = Server("--max-num-seqs", "4", "--model", model, env=env)
    try:
        m = metadata(s)
    finally:
        s.stop()
    sizing = m["kv_sizing"]
    assert sizing["mode"] == "percent" and sizing["percent"] == 0.02
    # deci: only the 3 layers with KV heads count (896 bytes, not 6 layers x 4 heads = 3072).
    assert sizing["bytes_per_token"] == per_token == m["kv_bytes_per_token_f16"]
    assert sizing["memory_source"] in ("system", "cgroup", "gpu") and sizing["free_bytes"] > 0
    assert sizing["tokens"] % (4 * 256) == 0 and sizing["tokens"] == m["kv_capacity_tokens"]
    cap = 4 * m["training_context_length"]
    expected = min(int(sizing["free_bytes"] * 0.02) // per_token // 1024 * 1024, cap)
    assert sizing["tokens"] == expected


def test_fixed_size_is_reported_too(server):
    sizing = metadata(server)["kv_sizing"]
    assert {k: sizing[k] for k in ("mode", "tokens", "bytes_per_token", "max_num_seqs", "max_model_len")} == \
        {"mode": "fixed", "tokens": 8192, "bytes_per_token": 23040, "max_num_seqs": 8, "max_model_len": 1024}
    # The fixture's 8192 cells over 8 sequences cannot hold the trained 8192 each: the cap says so.
    assert "capped from the trained 8192" in sizing["reasons"]["max_model_len"]


@pytest.mark.parametrize("env, message", [
    ({"NIM_KV_CACHE_PERCENT": "0"}, "NIM_KV_CACHE_PERCENT=0"),
    ({"NIM_KV_CACHE_PERCENT": "150"}, "must be between"),
    ({"NIM_KV_CACHE_PERCENT": "50", "NIM_KV_CACHE_TOKENS": "4096"}, "not both"),
])
def test_bad_percent_settings_stop_startup(env, message):
    run = subprocess.run([BIN, "serve", "--model", MODEL, "--port", "1"], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and message in run.stderr, run.stderr
