"""Sparse zero-weight models (`make-tiny-deci.py --sparse`, issue 17): only the header,
metadata and tensor infos are written, the weights are a hole. The engine must load such a
file and generate deterministically from it, and reading it must not allocate disk."""
import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from conftest import BIN, ROOT, Server

MAX_TOKENS = 12
# One engine thread: the model is tiny, and two spinning threads on a busy 2-core machine
# slow each other down many times over.


def llama_src():
    return os.environ.get("CORRAL_LLAMA_SRC") or subprocess.run(
        [os.path.join(ROOT, "scripts", "bootstrap-engine.sh"), "--source"],
        capture_output=True, text=True, check=True, timeout=600).stdout.strip()


@pytest.fixture(scope="module", params=["q8_0", "f16"])
def sparse_model(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("sparse") / f"tiny-{request.param}.gguf"
    layout = out.with_suffix(".json")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make-tiny-deci.py"), "--llama-src", llama_src(),
                    "--sparse", "--type", request.param, "--embd-type", request.param,
                    "--out", str(out), "--json", str(layout)], check=True, capture_output=True, timeout=300)
    return out, json.loads(layout.read_text())


def allocated(path):
    return os.stat(path).st_blocks * 512


def generate(path):
    run = subprocess.run([BIN, "generate", "Once upon a time", "--model", str(path), "--max-tokens", str(MAX_TOKENS),
                          "--temperature", "0", "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    counts = re.search(r"\[(\d+) prompt tokens, (\d+) generated", run.stderr)
    assert counts, run.stderr
    return run.stdout, int(counts.group(2))


def test_only_the_header_takes_disk_space(sparse_model):
    path, layout = sparse_model
    size = os.path.getsize(path)
    # The data section is the 128k-token embedding and output matrices plus the layers.
    assert size > layout["data_offset"] + 2 * 128256 * 128
    assert allocated(path) <= layout["data_offset"] + 64 * 1024, (allocated(path), layout["data_offset"])


def test_the_engine_loads_it_and_generates_deterministically(sparse_model):
    path, _ = sparse_model
    before = allocated(path)
    first, second = generate(path), generate(path)
    # Zero weights give all-zero logits: greedy picks the same token every step and never
    # an end-of-generation token, so every run generates exactly MAX_TOKENS.
    assert first == second and first[1] == MAX_TOKENS
    assert allocated(path) == before  # reading a hole allocates nothing


def test_the_server_generates_deterministically_with_ignore_eos(sparse_model):
    path, _ = sparse_model
    before = allocated(path)
    s = Server("--model", str(path), "--max-num-seqs", "2", "--kv-cache-tokens", "1024", "--threads", "1")
    try:
        def complete():
            body = json.dumps({"prompt": "Once upon a time", "max_tokens": MAX_TOKENS, "temperature": 0,
                               "ignore_eos": True}).encode()
            req = urllib.request.Request(s.url + "/v1/completions", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=120) as r:
                out = json.load(r)
            return out["choices"][0]["text"], out["usage"]["completion_tokens"]

        first, second = complete(), complete()
    finally:
        s.stop()
    assert first == second and first[1] == MAX_TOKENS
    assert allocated(path) == before
