"""The engine's default thread count follows the CPUs the process is given (issue 11):
llama.cpp's own default is a fixed 4, which oversubscribes a 2-CPU machine or pod."""
import json
import os
import shutil
import urllib.request

import pytest

from conftest import Server


def metadata(server):
    with urllib.request.urlopen(server.url + "/v1/metadata", timeout=10) as r:
        return json.load(r)


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) is not installed")
def test_default_threads_follow_the_affinity_mask():
    s = Server("--max-num-seqs", "2", "--kv-cache-tokens", "1024", threads=None, launcher=("taskset", "-c", "0"))
    try:
        assert metadata(s)["engine_threads"] == {"threads": 1, "source": "affinity"}
    finally:
        s.stop()


def test_default_threads_use_every_allowed_cpu():
    s = Server("--max-num-seqs", "2", "--kv-cache-tokens", "1024", threads=None)
    try:
        got = metadata(s)["engine_threads"]
        assert got["threads"] == len(os.sched_getaffinity(0)) or got["source"] == "cgroup"
    finally:
        s.stop()


def test_configured_threads_win():
    s = Server("--max-num-seqs", "2", "--kv-cache-tokens", "1024", threads="3")
    try:
        assert metadata(s)["engine_threads"] == {"threads": 3, "source": "configured"}
    finally:
        s.stop()
