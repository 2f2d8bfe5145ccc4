"""What an operator coming from NIM, vLLM or llama-server types in the first hour: on/off
flags as they spell them, NIM's log levels, a model named by hf:// URL, an impossible
max_model_len, an over-long prompt, an out-of-range number, an empty cache."""
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, MODEL, free_port


def check(*args, env=None):
    return subprocess.run([BIN, "serve", "--check-config", "--model", MODEL, *args],
                          env={"PATH": os.environ["PATH"], **(env or {})}, capture_output=True, text=True, timeout=60)


def settings_of(run):
    assert run.returncode == 0, run.stderr
    return dict(line.split("=", 1) for line in run.stdout.splitlines() if line.startswith("NIM_"))


@pytest.mark.parametrize("args, value", [
    (["--enable-kv-cache-reuse"], "1"),                      # bare, as vLLM users type it
    (["--enable-kv-cache-reuse", "0"], "0"),                 # as the help names it
    (["--enable-kv-cache-reuse", "1"], "1"),
    (["--enable-kv-cache-reuse=false"], "0"),
    (["--no-enable-kv-cache-reuse"], "0"),                   # vLLM's negative form
    (["--enable-kv-cache-reuse", "--max-num-seqs", "2"], "1"),  # bare, before another flag
])
def test_on_off_flags_take_what_users_type(args, value):
    assert settings_of(check(*args))["NIM_ENABLE_KV_CACHE_REUSE"] == value


def test_the_placeholder_words_of_help_mean_the_default():
    # `--help` writes "default auto" and "default none": typing them means just that.
    s = settings_of(check(env={"NIM_SERVED_MODEL_NAME": "auto", "NIM_API_KEYS_FILE": "none",
                               "NIM_CHAT_TEMPLATE_FILE": "model", "NIM_KV_CACHE_TOKENS": "auto"}))
    assert s["NIM_SERVED_MODEL_NAME"] == "auto" and s["NIM_CHAT_TEMPLATE_FILE"] == "model"
    assert s["NIM_KV_CACHE_TOKENS"] == "auto"


def test_a_bad_on_off_value_names_the_setting():
    run = check(env={"NIM_PER_REQ_METRICS_ENABLE": "maybe"})
    assert run.returncode != 0 and "NIM_PER_REQ_METRICS_ENABLE=maybe" in run.stderr


@pytest.mark.parametrize("level", ["DEFAULT", "CRITICAL", "WARN", "info", "TRACE"])
def test_nims_log_levels_start(level):
    assert check(env={"NIM_LOG_LEVEL": level}).returncode == 0


def test_an_unknown_log_level_names_the_setting():
    run = check(env={"NIM_LOG_LEVEL": "LOUD"})
    assert run.returncode != 0 and "NIM_LOG_LEVEL=LOUD" in run.stderr and "DEFAULT" in run.stderr


@pytest.mark.parametrize("args, named", [
    (["--kv-cache-tokens", "99999999999"], "NIM_KV_CACHE_TOKENS=99999999999 (--kv-cache-tokens)"),
    (["--max-batch-tokens", "4294967297"], "NIM_MAX_BATCH_TOKENS=4294967297 (--max-batch-tokens)"),
    (["--max-num-seqs", "1000"], "NIM_MAX_NUM_SEQS=1000 (--max-num-seqs)"),
])
def test_huge_numbers_are_refused_naming_the_setting(args, named):
    run = check(*args)
    assert run.returncode != 0 and named in run.stderr and "must be between" in run.stderr, run.stderr


def test_the_same_bounds_hold_for_the_variables():
    run = check(env={"NIM_KV_CACHE_TOKENS": "99999999999"})
    assert run.returncode != 0 and "NIM_KV_CACHE_TOKENS=99999999999" in run.stderr


def test_an_empty_cache_names_the_command_that_fills_it(tmp_path):
    run = subprocess.run([BIN, "serve", "--check-config", "--cache-path", str(tmp_path)],
                         env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "the cache is empty" in run.stderr and "download-to-cache" in run.stderr


def serve_until_exit(*args, timeout=120):
    return subprocess.run([BIN, "serve", "--host", "127.0.0.1", "--port", str(free_port()), "--threads", "2",
                           "--model", MODEL, *args], capture_output=True, text=True, timeout=timeout)


def test_a_max_model_len_the_cache_cannot_hold_stops_startup():
    # 8192 cells over 2 sequences: 4096 each, so 6000 cannot be honoured.
    run = serve_until_exit("--kv-cache-tokens", "8192", "--max-num-seqs", "2", "--max-model-len", "6000")
    assert run.returncode != 0
    assert "NIM_MAX_MODEL_LEN=6000 (--max-model-len) cannot be honoured" in run.stderr, run.stderr[-2000:]
    assert "4096 tokens per sequence" in run.stderr


def test_an_over_long_request_names_the_setting(server):
    body = json.dumps({"model": "smollm2", "prompt": "Hello", "max_tokens": 5000}).encode()
    request = urllib.request.Request(server.url + "/v1/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 400
    message = json.load(error.value)["error"]["message"]
    assert "maximum context length is 1024" in message and "NIM_MAX_MODEL_LEN" in message


class ModelHandler(http.server.BaseHTTPRequestHandler):
    """A stand-in for Hugging Face: serves the test model at /OWNER/REPO/resolve/REV/FILE."""
    paths = []

    def do_GET(self):
        ModelHandler.paths.append(self.path)
        if self.path != "/corral-test/smol/resolve/main/smol.gguf":
            self.send_error(404)
            return
        data = open(MODEL, "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_serve_downloads_an_hf_model_into_the_cache(tmp_path):
    ModelHandler.paths = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = free_port()
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{srv.server_address[1]}", "NIM_LOG_LEVEL": "warning",
           "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    args = [BIN, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "2", "--max-num-seqs", "2",
            "--cache-path", str(tmp_path), "--model", "hf://corral-test/smol/smol.gguf"]
    assert subprocess.run([*args, "--check-config"], env=env, capture_output=True, timeout=60).returncode == 0
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/metadata", timeout=2) as r:
                    metadata = json.load(r)
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("not ready")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        srv.shutdown()
    cached = tmp_path / "models" / "smol.gguf"
    assert metadata["path"] == str(cached) and cached.stat().st_size == os.path.getsize(MODEL)
    assert ModelHandler.paths == ["/corral-test/smol/resolve/main/smol.gguf"]
    # The model is cached now: a second start does not fetch it again.
    run = subprocess.run([*args, "--check-config"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and ModelHandler.paths == ["/corral-test/smol/resolve/main/smol.gguf"]
