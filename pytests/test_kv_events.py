"""KV events in vLLM's format, from a live server, read by a subscriber written as routers
write one (pyzmq and msgpack): three frames (topic, 8-byte big-endian sequence, msgpack
batch), gapless sequence numbers, parents stored before children, the host tier's moves as
`CPU` blocks, tenants that never share a hash, and replay from a sequence number through the
ROUTER socket. The batch is also read positionally with the field order of llm-d's indexer
(llm-d/llm-d-kv-cache, pkg/kvevents/engineadapter/vllm_adapter.go, commit 0d2ae546:
msgpackVLLMEventBatch, msgpackVLLMBlockStoredEvent, msgpackVLLMBlockRemovedEvent), and that
reader is checked against the fixture of llm-d's own test (vllm_adapter_test.go at commit
2802dcf5, TestDecodeEventBatch_NestedArrayEvents: the batch "exactly what vLLM sends"). Its Go
code is not run here: no Go toolchain or modules are installed.

Also vLLM's render endpoints: the token ids generation uses, and generation's 400s."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import msgpack
import openai
import pytest
import zmq

from conftest import BIN, Server, free_port

TOPIC = "kv@pod-a@smollm2"
SYSTEM = ("You are a careful assistant for a small bakery. You answer questions about bread, cakes, "
          "opening hours and prices in one or two short sentences, politely and plainly. ") * 2


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    keys = tmp_path_factory.mktemp("kv-events") / "keys"
    keys.write_text("sk-alice alice\nsk-bob bob\n")
    pub, replay = free_port(), free_port()
    # One slot: a second conversation takes the first one's slot, so its history moves to
    # the host tier.
    server = Server("--max-num-seqs", "1", "--kv-events-endpoint", f"tcp://127.0.0.1:{pub}",
                    "--kv-events-replay-endpoint", f"tcp://127.0.0.1:{replay}", "--kv-events-topic", TOPIC,
                    env={"NIM_API_KEYS_FILE": str(keys)})
    yield server, pub, replay
    server.stop()


def chat(server, key, messages, **extra):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)
    return client.chat.completions.create(model="smollm2", messages=messages, temperature=0, max_tokens=8, **extra)


def receive(sock, quiet=1.5):
    """Every message until none comes for `quiet` seconds."""
    out = []
    while sock.poll(int(quiet * 1000)):
        out.append(sock.recv_multipart())
    return out


def llmd_decode(payload):
    """The batch as llm-d's indexer reads it: `[ts, [events], dp_rank]`, each event a tagged
    array read by position (at least eight fields for BlockStored, extra ones ignored),
    hashes as uint64, token ids as uint32."""
    ts, events, _dp_rank = msgpack.unpackb(payload)[:3]
    assert isinstance(ts, float)
    decoded = []
    for raw in events:
        tag = raw[0]
        if tag == "BlockStored":
            assert len(raw) >= 8, "llm-d refuses a BlockStored without lora_name"
            _, hashes, parent, token_ids, block_size, lora_id, medium, lora_name = raw[:8]
            assert all(isinstance(h, int) and 0 <= h < 2**64 for h in hashes)
            assert parent is None or 0 <= parent < 2**64
            assert all(isinstance(t, int) and 0 <= t < 2**32 for t in token_ids)
            assert isinstance(block_size, int) and (lora_id is None or isinstance(lora_id, int))
            assert medium is None or isinstance(medium, str)
            assert lora_name is None or isinstance(lora_name, str)
            decoded.append(dict(tag=tag, hashes=hashes, parent=parent, tokens=token_ids, block_size=block_size,
                                medium=medium, lora_id=lora_id, lora_name=lora_name,
                                extra=raw[8] if len(raw) > 8 else None))
        elif tag == "BlockRemoved":
            _, hashes, medium = raw
            decoded.append(dict(tag=tag, hashes=hashes, medium=medium))
        else:
            assert tag == "AllBlocksCleared", raw
            decoded.append(dict(tag=tag))
    return decoded


def corral_decode(payload):
    """llm-d's reading, plus what Corral promises beyond it: dp_rank 0, full blocks, vLLM's
    medium names, and extra keys (where set) one per block."""
    assert msgpack.unpackb(payload)[2] == 0
    events = llmd_decode(payload)
    for e in events:
        if e["tag"] == "BlockStored":
            assert len(e["tokens"]) == len(e["hashes"]) * e["block_size"] and e["medium"] in ("GPU", "CPU")
            assert e["extra"] is None or len(e["extra"]) == len(e["hashes"])
        elif e["tag"] == "BlockRemoved":
            assert e["medium"] in ("GPU", "CPU")
    return events


# llm-d's fixture (vllm_adapter_test.go, TestDecodeEventBatch_NestedArrayEvents).
LLMD_FIXTURE = [1234567890.0, [["BlockStored", [10, 11], 9, [1, 2, 3], 16, None, "gpu", None]], None]


def test_the_llmd_reader_reads_llmds_own_fixture_as_llmd_does():
    (stored,) = llmd_decode(msgpack.packb(LLMD_FIXTURE))
    # What llm-d's test asserts of it.
    assert stored["hashes"] == [10, 11] and stored["parent"] == 9 and stored["tokens"] == [1, 2, 3]
    assert stored["medium"] == "gpu" and stored["lora_name"] is None
    with pytest.raises(AssertionError):  # its TestDecodeVLLMEvent_BlockStoredMissingLoraName
        llmd_decode(msgpack.packb([0.0, [["BlockStored", [300, 301], 299, [7, 8, 9], 64, 123, "gpu"]], None]))


def test_a_subscriber_reads_ordered_gapless_events_and_replays_a_missed_range(served):
    server, pub, replay = served
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"kv@")
    sub.connect(f"tcp://127.0.0.1:{pub}")
    time.sleep(0.5)  # a SUB socket misses what is sent before it has joined
    first = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What bread do you sell?"}]
    reply = chat(server, "sk-alice", first).choices[0].message.content
    chat(server, "sk-alice", first + [{"role": "assistant", "content": reply}, {"role": "user", "content": "And cakes?"}])
    chat(server, "sk-bob", first)
    chat(server, "sk-alice", [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Are you open on Sunday?"}])
    messages = receive(sub)
    sub.close()
    assert messages, "no events"
    assert all(len(m) == 3 and m[0] == TOPIC.encode() and len(m[1]) == 8 for m in messages)
    seqs = [int.from_bytes(m[1], "big") for m in messages]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"sequence numbers must be gapless: {seqs}"

    held, stored = set(), []
    for m in messages:
        for e in corral_decode(m[2]):
            if e["tag"] == "BlockStored":
                assert e["parent"] is None or (e["medium"], e["parent"]) in held, "a parent comes before its children"
                for h in e["hashes"]:
                    assert (e["medium"], h) not in held, "a held block is not stored twice"
                    held.add((e["medium"], h))
                stored.append(e)
            elif e["tag"] == "BlockRemoved":
                for h in e["hashes"]:
                    assert (e["medium"], h) in held, "only held blocks are removed"
                    held.discard((e["medium"], h))
            else:
                held.clear()
    assert {e["medium"] for e in stored} == {"GPU", "CPU"}, "the first conversation moved to the host tier"

    # The same prompt under two tenants: the same tokens, never the same hash.
    def roots(tenant):
        return [e for e in stored if e["parent"] is None and e["medium"] == "GPU" and e["extra"][0] == [tenant, ""]]
    alice, bob = roots("alice"), roots("bob")
    assert alice and bob
    assert alice[0]["tokens"][:16] == bob[0]["tokens"][:16]
    assert not {h for e in alice for h in e["hashes"]} & {h for e in bob for h in e["hashes"]}

    # The blocks are the prompt's own tokens, as the render endpoint gives them.
    status, rendered = call_with_key(server, "/v1/chat/completions/render", {"model": "smollm2", "messages": first}, "sk-alice")
    assert status == 200
    tokens = alice[0]["tokens"]
    assert rendered["token_ids"][:len(tokens)] == tokens

    # Replay from the start: every batch from sequence 0, byte for byte those sent, then the
    # end marker; the very first batch tells consumers to forget an earlier run.
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(f"tcp://127.0.0.1:{replay}")
    dealer.send_multipart([b"", (0).to_bytes(8, "big")])
    replayed = {}
    while True:
        assert dealer.poll(10_000), "replay did not end"
        empty, seq, payload = dealer.recv_multipart()
        seq = int.from_bytes(seq, "big", signed=True)
        if seq == -1:
            break
        replayed[seq] = payload
    dealer.close()
    assert sorted(replayed) == list(range(0, seqs[-1] + 1))
    assert all(replayed[s] == m[2] for s, m in zip(seqs, messages))
    assert llmd_decode(replayed[0])[0]["tag"] == "AllBlocksCleared"


def call_with_key(server, path, body, key):
    req = urllib.request.Request(server.url + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_render_gives_the_tokens_generation_runs_and_its_400s(served):
    server, _, _ = served
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "How much is a cake?"}]
    status, r = call_with_key(server, "/v1/chat/completions/render", {"model": "smollm2", "messages": messages,
                                                                       "max_tokens": 5, "seed": 3}, "sk-alice")
    assert status == 200 and r["request_id"].startswith("chatcmpl-") and r["model"] == "smollm2"
    assert r["sampling_params"]["max_tokens"] == 5 and r["sampling_params"]["seed"] == 3
    used = chat(server, "sk-alice", messages).usage
    assert len(r["token_ids"]) == used.prompt_tokens
    status, listed = call_with_key(server, "/v1/completions/render",
                                   {"model": "smollm2", "prompt": ["Bread and butter", "Cakes"]}, "sk-alice")
    assert status == 200 and len(listed) == 2
    status, tokenized = call_with_key(server, "/tokenize", {"model": "smollm2", "prompt": "Bread and butter"}, "sk-alice")
    assert listed[0]["token_ids"] == tokenized["tokens"]
    # The same refusals as generation, naming the same fields; and the same key check.
    for path, body, param in [
        ("/v1/chat/completions", {"model": "smollm2", "messages": []}, "messages"),
        ("/v1/chat/completions", {"model": "smollm2", "messages": messages, "temperature": 9}, "temperature"),
        ("/v1/completions", {"model": "smollm2", "prompt": "x", "logprobs": 99}, "logprobs"),
        ("/v1/completions", {"model": "nope", "prompt": "x"}, "model"),
    ]:
        generated = call_with_key(server, path, body, "sk-alice")
        rendered = call_with_key(server, path + "/render", body, "sk-alice")
        assert rendered[0] == generated[0] and rendered[0] in (400, 404), (path, body, rendered)
        assert rendered[1]["error"].get("param") == generated[1]["error"].get("param") == param, rendered
    assert call_with_key(server, "/v1/completions/render", {"model": "smollm2", "prompt": "x"}, "sk-wrong")[0] == 401


def test_a_bad_or_taken_endpoint_stops_startup_naming_it(tmp_path):
    run = subprocess.run([BIN, "serve", "--check-config", "--kv-events-endpoint", "tcp://nowhere"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "NIM_KV_EVENTS_ENDPOINT=tcp://nowhere" in run.stderr + run.stdout
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(RuntimeError) as failed:
            Server("--kv-events-endpoint", f"tcp://127.0.0.1:{port}")
        assert f"NIM_KV_EVENTS_ENDPOINT=tcp://127.0.0.1:{port}" in str(failed.value)
    finally:
        taken.close()


def test_cache_config_info_carries_vllms_labels(served):
    """The endpoint picker reads `block_size` and `num_gpu_blocks` off vllm:cache_config_info."""
    server, _, _ = served
    text = urllib.request.urlopen(server.url + "/v1/metrics").read().decode()
    lines = [l for l in text.splitlines() if l.startswith("vllm:cache_config_info{")]
    assert len(lines) == 1 and float(lines[0].rsplit(" ", 1)[1]) == 1, lines
    labels = dict(re.findall(r'(\w+)="([^"]*)"', lines[0]))
    with urllib.request.urlopen(urllib.request.Request(server.url + "/v1/metadata",
                                                       headers={"Authorization": "Bearer sk-alice"})) as r:
        meta = json.load(r)
    cells = meta["kv_sizing"]["tokens"]
    assert labels["block_size"] == "16" and labels["num_gpu_blocks"] == str(cells // 16)
    assert labels["enable_prefix_caching"] == "True" and int(labels["num_cpu_blocks"]) > 0
    assert {"cache_dtype", "gpu_memory_utilization", "swap_space", "sliding_window", "engine"} <= labels.keys()
    assert re.search(r'^vllm:num_requests_running\{model_name="smollm2"\} ', text, re.M)


def test_health_answers_routers_without_a_key(served):
    """vllm-router waits for `GET /health` on every worker before it routes."""
    server, _, _ = served
    with urllib.request.urlopen(server.url + "/health", timeout=10) as r:
        assert r.status == 200 and json.load(r)["message"] == "ready"


def test_the_fields_vllm_router_adds_pass_at_corrals_behaviour_and_fail_otherwise(served):
    """vllm-router re-encodes every chat request with vLLM's and SGLang's switches at their
    defaults; those that are what Corral does pass, any other value is a 400 naming it."""
    server, _, _ = served
    noop = {"no_stop_trim": False, "continue_final_message": False, "skip_special_tokens": True,
            "separate_reasoning": True, "stream_reasoning": True, "return_hidden_states": False,
            "include_reasoning": True}
    body = {"model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, **noop}
    status, answer = call_with_key(server, "/v1/chat/completions", body, "sk-alice")
    assert status == 200, answer
    for field in noop:
        status, error = call_with_key(server, "/v1/chat/completions", {**body, field: not noop[field]}, "sk-alice")
        assert status == 400 and error["error"]["param"] == field, (field, error)


def test_an_adapters_blocks_carry_its_id_and_name_and_their_own_hashes(tmp_path):
    loras = os.environ.get("CORRAL_TEST_LORA_DIR", os.path.expanduser("~/.cache/corral/models/smollm2-test-loras"))
    folder = tmp_path / "loras"
    folder.mkdir()
    shutil.copy(f"{loras}/a.gguf", folder / "style-a.gguf")
    pub = free_port()
    server = Server("--peft-source", str(folder), "--kv-events-endpoint", f"tcp://127.0.0.1:{pub}")
    sub = zmq.Context.instance().socket(zmq.SUB)
    try:
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{pub}")
        time.sleep(0.5)
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
        for model in ("smollm2", "style-a"):
            client.completions.create(model=model, prompt=SYSTEM, max_tokens=2, temperature=0)
        stored = [e for m in receive(sub) for e in corral_decode(m[2]) if e["tag"] == "BlockStored"]
    finally:
        sub.close()
        server.stop()
    base = [e for e in stored if e["lora_name"] is None]
    tuned = [e for e in stored if e["lora_name"] == "style-a"]
    assert base and tuned, stored
    assert all(e["lora_id"] is None for e in base) and all(isinstance(e["lora_id"], int) for e in tuned)
    assert base[0]["tokens"][:16] == tuned[0]["tokens"][:16], "the same prompt"
    assert not {h for e in base for h in e["hashes"]} & {h for e in tuned for h in e["hashes"]}, \
        "an adapter's KV is other KV: never the base model's hashes"
