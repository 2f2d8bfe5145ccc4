"""Multi-LoRA through the official `openai` SDK on the real engine: random adapters for
SmolLM2 made by scripts/make-test-lora.py (`make lora-adapters`), served from a
NIM_PEFT_SOURCE folder in both layouts (`<name>/<file>.gguf` and `<name>.gguf`)."""
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request

import pytest
from openai import NotFoundError, OpenAI

from conftest import BIN, MODEL, Server, call, same_greedy_text

LORAS = os.environ.get("CORRAL_TEST_LORA_DIR", os.path.expanduser("~/.cache/corral/models/smollm2-test-loras"))
PROMPTS = ["Write a haiku about the sea.", "List three colours.", "What is the capital of France?"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("peft")
    os.makedirs(d / "a")
    shutil.copy(f"{LORAS}/a.gguf", d / "a" / "adapter.gguf")  # NIM's layout: the folder names the model
    shutil.copy(f"{LORAS}/b.gguf", d / "b.gguf")  # a bare file
    os.makedirs(d / "wrong-arch")
    shutil.copy(f"{LORAS}/wrong-arch.gguf", d / "wrong-arch" / "adapter.gguf")
    shutil.copy(f"{LORAS}/rank64.gguf", d / "rank64.gguf")
    os.makedirs(d / "empty")
    data = open(f"{LORAS}/a.gguf", "rb").read()
    open(d / "cut.gguf", "wb").write(data[: len(data) // 2])
    return d


@pytest.fixture(scope="module")
def lora(folder):
    s = Server("--max-num-seqs", "8", "--kv-cache-tokens", "8192", "--peft-source", str(folder),
               "--peft-refresh-interval", "1", "--max-lora-rank", "16", "--per-req-metrics")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def plain():
    s = Server("--max-num-seqs", "8", "--kv-cache-tokens", "8192")
    yield s
    s.stop()


def client(server):
    return OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)


def chat(server, model, prompt, **kw):
    kw = {"temperature": 0, "max_tokens": 24, "logprobs": True, "top_logprobs": 2, **kw}
    return client(server).chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}], **kw)


def models(server):
    return {m.id: m for m in client(server).models.list().data}


def wait_for(predicate, seconds=8):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_models_lists_each_adapter_with_its_parent(lora, folder):
    listed = models(lora)
    assert set(listed) == {"smollm2", "a", "b"}
    assert listed["a"].parent == "smollm2" and listed["b"].parent == "smollm2"
    assert listed["a"].root == str(folder / "a" / "adapter.gguf")
    assert getattr(listed["smollm2"], "parent", None) is None


def test_metadata_says_why_each_skipped_adapter_is_not_served(lora):
    status, meta = call(lora, "GET", "/v1/metadata")
    assert status == 200
    info = meta["lora"]
    assert [a["name"] for a in info["adapters"]] == ["a", "b"]
    assert info["adapters"][0]["rank"] == 8 and info["max_lora_rank"] == 16 and info["max_loras"] == 8
    reasons = {s["name"]: s["reason"] for s in info["skipped"]}
    assert "qwen2" in reasons["wrong-arch"]
    assert "rank 64 is over the limit of 16" in reasons["rank64"]
    assert "no .gguf" in reasons["empty"]
    assert "cut" in reasons
    assert meta["prefix_cache"]["scope"].endswith("+adapter")


def test_an_adapter_changes_the_output_and_the_base_name_does_not(lora, plain):
    for prompt in PROMPTS[:2]:
        base = chat(plain, "smollm2", prompt)
        named_base = chat(lora, "smollm2", prompt)
        a = chat(lora, "a", prompt)
        b = chat(lora, "b", prompt)
        assert named_base.choices[0].message.content == base.choices[0].message.content
        assert a.choices[0].message.content != base.choices[0].message.content
        assert a.choices[0].message.content != b.choices[0].message.content
        assert a.model == "a" and named_base.model == "smollm2"


def test_mixed_adapters_under_load_each_give_their_own_output(lora):
    alone = {(m, p): chat(lora, m, p) for m in ("smollm2", "a", "b") for p in PROMPTS}
    results, errors = {}, []

    def run(key):
        try:
            results[key] = chat(lora, *key)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(key,)) for key in alone]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for key, single in alone.items():
        same_greedy_text(results[key], single)


def test_streaming_and_completions_run_under_the_adapter(lora):
    text = "".join(c.choices[0].delta.content or "" for c in
                   client(lora).chat.completions.create(model="a", messages=[{"role": "user", "content": PROMPTS[0]}],
                                                        temperature=0, max_tokens=24, stream=True) if c.choices)
    assert text == chat(lora, "a", PROMPTS[0]).choices[0].message.content
    done = client(lora).completions.create(model="b", prompt="Once upon a time", max_tokens=8, temperature=0)
    assert done.model == "b" and done.choices[0].text


def test_an_unknown_adapter_is_404(lora):
    with pytest.raises(NotFoundError):
        chat(lora, "wrong-arch", "hi")
    with pytest.raises(NotFoundError):
        chat(lora, "nope", "hi")


def test_adapters_added_and_removed_are_picked_up_within_the_refresh_interval(lora, folder):
    os.makedirs(folder / "c")
    shutil.copy(f"{LORAS}/c.gguf", folder / "c" / "adapter.gguf")
    assert wait_for(lambda: "c" in models(lora)), "an added adapter was not served within the refresh interval"
    assert chat(lora, "c", PROMPTS[0]).choices[0].message.content
    shutil.rmtree(folder / "c")
    assert wait_for(lambda: "c" not in models(lora)), "a removed adapter stayed in /v1/models"
    with pytest.raises(NotFoundError):
        chat(lora, "c", "hi")


def test_a_removed_adapter_finishes_its_running_requests(lora, folder):
    shutil.copy(f"{LORAS}/d.gguf", folder / "d.gguf")
    assert wait_for(lambda: "d" in models(lora))
    stream = client(lora).chat.completions.create(
        model="d", messages=[{"role": "user", "content": "Count from one to a hundred in words."}],
        temperature=0, max_tokens=200, stream=True, extra_body={"ignore_eos": True})
    chunks = iter(stream)
    first = next(chunks)
    os.remove(folder / "d.gguf")
    assert wait_for(lambda: "d" not in models(lora))
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert first and finish == ["length"], "the running request did not run to its end"


def test_metrics_count_adapter_requests_and_report_lora_requests_info(lora):
    chat(lora, "a", "hi", max_tokens=2)
    with urllib.request.urlopen(lora.url + "/v1/metrics") as r:
        text = r.read().decode()
    m = re.search(r'^lora_requests_total\{model_name="smollm2",lora_name="a"\} (\S+)$', text, re.M)
    assert m and float(m.group(1)) >= 1
    assert re.search(r'^vllm:lora_requests_info\{model_name="smollm2",max_lora="8",running_lora_adapters="[^"]*",'
                     r'waiting_lora_adapters="[^"]*"\} \d', text, re.M)


@pytest.mark.parametrize("args,message", [
    (["--max-loras", "4", "--max-cpu-loras", "2"], "NIM_MAX_CPU_LORAS=2 is less than NIM_MAX_GPU_LORAS=4"),
    (["--max-lora-rank", "0"], "NIM_MAX_LORA_RANK"),
    (["--peft-refresh-interval", "-1"], "NIM_PEFT_REFRESH_INTERVAL"),
])
def test_bad_lora_settings_are_refused_by_name(args, message):
    r = subprocess.run([BIN, "serve", "--model", MODEL, "--check-config", *args], capture_output=True, text=True)
    assert r.returncode != 0 and message in r.stderr + r.stdout
