"""Property-based conformance: schemathesis generates requests from openapi.yaml (more
than a thousand of them) against a live server, and checks that none gets a 5xx, every
status is one the spec documents, and every response matches its schema."""
import os
import re
import subprocess
import sys

from conftest import ROOT, Server

SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")


def test_schemathesis_finds_no_server_error_and_no_contract_breach():
    # A short context makes most generated completion requests fail validation fast
    # (400 context_length_exceeded) instead of generating for minutes.
    s = Server("--max-model-len", "128", "--max-num-seqs", "4", "--kv-cache-tokens", "1024", "--embeddings")
    try:
        run = subprocess.run([SCHEMATHESIS, "run", os.path.join(ROOT, "openapi.yaml"), "--url", s.url,
                              "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
                              "--max-examples", "40", "--seed", "7", "--request-timeout", "300", "--no-color"],
                             capture_output=True, text=True, timeout=900)
    finally:
        assert s.stop() == 0, "the server did not survive the generated requests"
    out = run.stdout + run.stderr
    tail = out[-3000:]
    assert run.returncode == 0, tail
    m = re.search(r"(\d+) generated, (\d+) passed", out)
    assert m, tail
    generated, passed = int(m.group(1)), int(m.group(2))
    assert generated >= 1000 and passed == generated, tail
    # Every operation in the spec, the render endpoints and /health included.
    assert "Selected: 18/18" in out and "Tested: 18" in out, tail
