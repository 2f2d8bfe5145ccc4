"""Starts real `corral serve` processes on loopback for the client-level tests."""
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CORRAL_BIN", os.path.join(ROOT, ".build", "debug", "corral"))
MODEL = os.environ.get("CORRAL_TEST_MODEL", os.path.expanduser("~/.cache/corral/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
DECI_MODEL = os.environ.get("CORRAL_TEST_DECI_MODEL", os.path.expanduser("~/.cache/corral/models/tiny-deci.gguf"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(server, method, path, body=None):
    """(status, JSON body) of one request; an HTTP error's status and body too."""
    req = urllib.request.Request(server.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


class Server:
    """A `corral serve` on a free port. `ssl_context` makes it an https server and is used
    for the readiness wait (TLS and mTLS tests pass their client context)."""

    def __init__(self, *args, env=None, ssl_context=None, threads="2", launcher=()):
        self.port = free_port()
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"
        self.ssl_context = ssl_context
        env = {**os.environ, "NIM_LOG_LEVEL": "warning", **(env or {})}
        # `threads=None` leaves the engine's thread count to the server's own default;
        # `launcher` wraps the command (for example `taskset -c 0`).
        thread_args = ["--threads", threads] if threads else []
        self.proc = subprocess.Popen([*launcher, BIN, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--model", MODEL, "--served-model-name", "smollm2", *thread_args, *args],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"corral exited: {self.proc.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(self.url + "/v1/health/ready", timeout=2, context=ssl_context) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("corral did not become ready")

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


@pytest.fixture(scope="session")
def server():
    s = Server("--max-num-seqs", "8", "--kv-cache-tokens", "8192")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def client(server):
    from openai import OpenAI
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def same_greedy_text(batched, alone):
    """The same tokens, or the same up to a place where the single run's two best tokens were
    within rounding of a tie. llama.cpp's CPU kernels round a batch of positions (a draft)
    or of sequences differently from one (the same request beside another moves its
    logprobs by up to 0.14 here), so a near-tie may fall either way; a real error (a wrong
    draft verification, another adapter's tokens) diverges anywhere. Both responses need
    `logprobs` with `top_logprobs` of at least 2. Returns whether they were identical."""
    a = batched.choices[0].logprobs.content
    b = alone.choices[0].logprobs.content
    for x, y in zip(a, b):
        if x.token != y.token:
            gap = y.top_logprobs[0].logprob - y.top_logprobs[1].logprob
            assert gap < 0.3, f"diverged at {y.token!r} vs {x.token!r}, where the single run's margin was {gap:.3f}"
            return False
    assert len(a) == len(b) and batched.choices[0].finish_reason == alone.choices[0].finish_reason
    return True
