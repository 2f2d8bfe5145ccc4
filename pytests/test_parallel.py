"""A model over several devices, on this CPU machine: two `corral rpc-server` workers on
loopback (one thread each) lend their CPUs as RPC devices, the leader keeps the first
blocks on its own CPU (`--gpu-layers 20` of 31) and splits the rest over the workers, as a
two-node deployment would. The refusals happen before any weight loads, and a worker lost
mid-stream stops the leader within seconds, naming it."""
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from openai import OpenAI

from conftest import BIN, DECI_MODEL, MODEL, Server, call, free_port, same_greedy_text

PROMPTS = ["Name three colours.", "What is the capital of France?", "Count from one to five."]
SMALL = ["--max-num-seqs", "2", "--kv-cache-tokens", "4096"]


class Worker:
    """A `corral rpc-server` on a free loopback port."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([BIN, "rpc-server", "--host", "127.0.0.1", "--port", str(self.port), "--threads", "1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("rpc-server did not listen")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


@pytest.fixture
def workers():
    ws = [Worker(), Worker()]
    yield ws
    for w in ws:
        w.stop()


def rpc(ws):
    return ["--rpc", ",".join(w.endpoint for w in ws)]


def fails_to_start(*args, model=MODEL):
    """Runs `corral serve` that must refuse: (exit status, stderr, with the engine's own log)."""
    proc = subprocess.run([BIN, "serve", "--host", "127.0.0.1", "--port", str(free_port()), "--model", model,
                           "--threads", "1", *args], env={**os.environ, "NIM_LOG_LEVEL": "warning", "CORRAL_ENGINE_LOG": "1"},
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr


def greedy(client, prompt):
    return client.chat.completions.create(model="smollm2", messages=[{"role": "user", "content": prompt}],
                                          max_tokens=24, temperature=0, logprobs=True, top_logprobs=2)


def single_device_answers():
    alone = Server(*SMALL)
    try:
        client = OpenAI(base_url=alone.url + "/v1", api_key="unused", max_retries=0)
        return [greedy(client, p) for p in PROMPTS]
    finally:
        alone.stop()


def test_layer_split_over_two_workers_and_the_cpu_gives_the_single_device_tokens(workers):
    expected = single_device_answers()
    split = Server(*SMALL, *rpc(workers), "--split-mode", "layer", "--gpu-layers", "20")
    try:
        client = OpenAI(base_url=split.url + "/v1", api_key="unused", max_retries=0)
        for prompt, alone in zip(PROMPTS, expected):
            same_greedy_text(greedy(client, prompt), alone)
        status, meta = call(split, "GET", "/v1/metadata")
        assert status == 200
        devices = meta["devices"]
        assert [d["name"] for d in devices] == ["CPU", "RPC0", "RPC1"], devices
        assert [d["layers"] for d in devices] == [11, 10, 9] and devices[2]["output"]
        assert [d["description"] for d in devices[1:]] == [w.endpoint for w in workers]
        assert all(d["kv_cells"] == 4096 and d["kv_bytes"] > 0 and d["weight_bytes"] > 0 for d in devices)
        assert meta["parallel"]["split_mode"] == "layer" and meta["parallel"]["profile"] == "llamacpp-rpc-tp1-pp2"
        assert meta["settings"]["NIM_RPC_SERVERS"] == ",".join(w.endpoint for w in workers)
    finally:
        split.stop()


def test_tensor_split_over_two_workers(workers):
    """Tensor split through llama.cpp's meta device over two RPC devices (each holding a
    share of every layer's rows and KV heads) serves the single-device tokens."""
    expected = single_device_answers()
    split = Server(*SMALL, *rpc(workers), "--split-mode", "tensor")
    try:
        client = OpenAI(base_url=split.url + "/v1", api_key="unused", max_retries=0)
        for prompt, alone in zip(PROMPTS, expected):
            same_greedy_text(greedy(client, prompt), alone)
        status, meta = call(split, "GET", "/v1/metadata")
        assert meta["parallel"]["split_mode"] == "tensor" and [d["layers"] for d in meta["devices"]] == [30, 30]
    finally:
        split.stop()


def test_tensor_split_of_tiny_deci_is_refused_before_loading_naming_the_layer(workers):
    code, err = fails_to_start(*rpc(workers), "--split-mode", "tensor", model=DECI_MODEL)
    assert code == 1, err
    assert "NIM_SPLIT_MODE=tensor cannot serve this model: layer 1 has 4 attention heads and no KV heads" in err, err
    assert "llama_model_loader" not in err, "the weights started loading before the refusal"


def test_more_devices_than_visible_is_a_startup_error(workers):
    code, err = fails_to_start(*rpc(workers), "--tensor-parallel-size", "4")
    assert code == 1 and "NIM_TENSOR_PARALLEL_SIZE=4 asks for 4 devices, but the engine sees 2 (RPC0, RPC1)" in err, err


def test_an_rpc_server_that_is_not_listening_is_a_startup_error_naming_it():
    port = free_port()
    code, err = fails_to_start("--rpc", f"127.0.0.1:{port}")
    assert code == 1, err
    assert f"RPC server 127.0.0.1:{port} is not reachable" in err and "NIM_RPC_SERVERS" in err, err


def test_a_worker_killed_mid_stream_stops_the_leader_within_seconds_naming_it(workers):
    leader = Server(*SMALL, *rpc(workers), "--split-mode", "layer")
    chunks, ended = [], threading.Event()

    def stream():
        client = OpenAI(base_url=leader.url + "/v1", api_key="unused", max_retries=0, timeout=60)
        try:
            for chunk in client.chat.completions.create(
                    model="smollm2", messages=[{"role": "user", "content": "Tell me a very long story."}],
                    max_tokens=2000, temperature=0, stream=True, extra_body={"ignore_eos": True}):
                chunks.append(chunk)
        except Exception as e:  # the connection ends with the process: what a client sees
            chunks.append(e)
        ended.set()

    reader = threading.Thread(target=stream, daemon=True)
    reader.start()
    deadline = time.time() + 60
    while len(chunks) < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert len(chunks) >= 3, "no tokens streamed before the kill"
    killed = workers[1]
    os.kill(killed.proc.pid, signal.SIGKILL)
    t = time.time()
    code = leader.proc.wait(timeout=30)
    took = time.time() - t
    err = leader.proc.stderr.read().decode()
    assert code == 70, (code, err[-2000:])
    assert took < 15, took
    assert f"lost RPC server(s): {killed.endpoint}" in err and workers[0].endpoint not in err.split("lost RPC server(s):")[1], err[-2000:]
    assert ended.wait(30), "the client's stream did not end"


def test_list_model_profiles_names_the_layouts_the_workers_give(workers):
    import json
    run = subprocess.run([BIN, "list-model-profiles", *rpc(workers), "--model", MODEL, "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    profiles = {p["profile"]: p for p in out["profiles"]}
    assert list(profiles) == ["llamacpp-rpc-tp1-pp1", "llamacpp-rpc-tp2-pp1", "llamacpp-rpc-tp1-pp2"]
    assert all(p["fits"] == "yes" for p in profiles.values()), profiles
    assert profiles["llamacpp-rpc-tp1-pp2"]["devices"] == "RPC0,RPC1"
    # The model fits one device, so auto keeps it on one.
    assert out["selected"] == "llamacpp-rpc-tp1-pp1"
    deci = subprocess.run([BIN, "list-model-profiles", *rpc(workers), "--model", DECI_MODEL, "--json"],
                          capture_output=True, text=True, timeout=60)
    tp2 = next(p for p in json.loads(deci.stdout)["profiles"] if p["profile"] == "llamacpp-rpc-tp2-pp1")
    assert tp2["fits"] == "no" and "layer 1" in tp2["note"]


def test_a_profile_the_devices_do_not_give_is_a_startup_error(workers):
    code, err = fails_to_start(*rpc(workers), "--profile", "llamacpp-cuda-tp2-pp1")
    assert code == 1 and "NIM_MODEL_PROFILE=llamacpp-cuda-tp2-pp1 is not a layout of the devices here" in err, err
