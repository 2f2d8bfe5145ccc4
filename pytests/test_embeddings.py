"""`/v1/embeddings` on the real engine: the default model started with `--embeddings`
(mean pooling, as llama-server's `--embeddings`), through the official `openai` SDK.

No Python package in reach ships a small embedding GGUF, so the default generation model
serves them; an embedding-only model is made by copying it with `llama.pooling_type` set.
"""
import base64
import json
import math
import os
import struct
import subprocess
import sys
import urllib.request

import pytest
from openai import BadRequestError, OpenAI

from conftest import MODEL, Server, call


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def post(server, path, body):
    return call(server, "POST", path, body)


@pytest.fixture(scope="module")
def embedder():
    s = Server("--embeddings", "--max-num-seqs", "8", "--kv-cache-tokens", "8192", "--max-batch-tokens", "256")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sdk(embedder):
    return OpenAI(base_url=embedder.url + "/v1", api_key="unused", max_retries=0)


def test_the_sdk_gets_normalized_vectors_and_usage(sdk):
    r = sdk.embeddings.create(model="smollm2", input=["The cat sat on the mat.", "hello"])
    assert [d.index for d in r.data] == [0, 1]
    assert len({len(d.embedding) for d in r.data}) == 1 and len(r.data[0].embedding) == 576
    for d in r.data:
        assert abs(math.sqrt(sum(x * x for x in d.embedding)) - 1) < 1e-4
    assert r.usage.prompt_tokens == r.usage.total_tokens > 2
    assert r.model == "smollm2"


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(sdk):
    sentences = ["The weather is lovely today.", "Today the weather is really nice.",
                 "He drove his car to the stadium."]
    a, b, c = (d.embedding for d in sdk.embeddings.create(model="smollm2", input=sentences).data)
    assert cosine(a, b) > cosine(a, c)
    assert cosine(a, b) > cosine(b, c)


def test_a_batch_returns_the_single_requests_vectors(sdk):
    texts = ["one short line", "a somewhat longer line of text to embed here", "x", "one short line"]
    batch = [d.embedding for d in sdk.embeddings.create(model="smollm2", input=texts).data]
    for text, vector in zip(texts, batch):
        single = sdk.embeddings.create(model="smollm2", input=text).data[0].embedding
        assert max(abs(x - y) for x, y in zip(single, vector)) < 1e-4
    assert max(abs(x - y) for x, y in zip(batch[0], batch[3])) < 1e-4


def test_base64_decodes_to_the_same_floats(embedder):
    floats = post(embedder, "/v1/embeddings", {"input": "base sixty-four", "encoding_format": "float"})[1]
    status, encoded = post(embedder, "/v1/embeddings", {"input": "base sixty-four", "encoding_format": "base64"})
    assert status == 200
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(decoded) == len(floats["data"][0]["embedding"])
    assert max(abs(x - y) for x, y in zip(decoded, floats["data"][0]["embedding"])) < 1e-6


def test_token_inputs_match_the_text(embedder):
    tokens = post(embedder, "/tokenize", {"prompt": "token ids in"})[1]["tokens"]
    by_text = post(embedder, "/v1/embeddings", {"input": "token ids in"})[1]["data"][0]["embedding"]
    for body in ({"input": tokens}, {"input": [tokens, tokens]}):
        status, r = post(embedder, "/v1/embeddings", body)
        assert status == 200
        assert max(abs(x - y) for x, y in zip(r["data"][-1]["embedding"], by_text)) < 1e-4


def test_truncate_cuts_a_long_input_and_none_refuses_it(embedder):
    long = "word " * 400  # over the 256-token pass
    status, error = post(embedder, "/v1/embeddings", {"input": long})
    assert status == 400 and error["error"]["code"] == "context_length_exceeded"
    assert error["error"]["param"] == "input"
    for side in ("START", "END"):
        status, r = post(embedder, "/v1/embeddings", {"input": long, "truncate": side, "input_type": "passage"})
        assert status == 200 and r["usage"]["prompt_tokens"] == 256


@pytest.mark.parametrize("body, param", [
    ({"input": "x", "dimensions": 64}, "dimensions"),
    ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"input": "x", "truncate": "MIDDLE"}, "truncate"),
    ({"input": "x", "input_type": "document"}, "input_type"),
    ({"input": ""}, "input"),
    ({"input": []}, "input"),
    ({"input": [[]]}, "input"),
    ({"input": [1.5]}, "input"),
    ({"input": [999999999]}, "input"),
    ({"input": "x", "pooling": "cls"}, "pooling"),
])
def test_bad_requests_are_400s_naming_the_field(embedder, body, param):
    status, error = post(embedder, "/v1/embeddings", body)
    assert status == 400, error
    assert error["error"]["param"] == param


def test_an_unknown_model_is_a_404(embedder):
    assert post(embedder, "/v1/embeddings", {"input": "x", "model": "other"})[0] == 404


def test_generation_keeps_working_beside_embeddings(sdk, embedder):
    reply = sdk.chat.completions.create(model="smollm2", max_tokens=8, temperature=0,
                                        messages=[{"role": "user", "content": "Say hi"}])
    assert reply.choices[0].message.content
    meta = json.load(urllib.request.urlopen(embedder.url + "/v1/metadata"))
    assert meta["serves"] == {"generation": True, "embeddings": True, "pooling": "mean"}
    models = json.load(urllib.request.urlopen(embedder.url + "/v1/models"))
    assert models["data"][0]["capabilities"] == ["generation", "embeddings"]


def test_embedding_kv_is_released_after_its_pass(embedder):
    post(embedder, "/v1/embeddings", {"input": ["free the cells " * 20] * 8})
    text = urllib.request.urlopen(embedder.url + "/v1/metrics").read().decode()
    usage = [line for line in text.splitlines() if line.startswith("gpu_cache_usage_perc")]
    assert usage and float(usage[0].split()[-1]) < 0.05, usage


def test_a_generation_model_without_the_flag_refuses_embeddings(client):
    with pytest.raises(BadRequestError) as e:
        client.embeddings.create(model="smollm2", input="x")
    assert "NIM_ENABLE_EMBEDDINGS" in str(e.value)


@pytest.fixture(scope="module")
def embedding_model(tmp_path_factory):
    """The default model with `llama.pooling_type = mean` in its header: an embedding GGUF."""
    gguf_py = os.path.expanduser("~/.cache/corral/src/llama_cpp_python-0.3.36/vendor/llama.cpp/gguf-py")
    if not os.path.isdir(gguf_py):
        pytest.skip("the pinned engine source (gguf-py) is not unpacked")
    out = str(tmp_path_factory.mktemp("embed") / "smollm2-embed.gguf")
    subprocess.run([sys.executable, "-c", ADD_POOLING, MODEL, out], check=True,
                   env={**os.environ, "PYTHONPATH": gguf_py})
    s = Server("--model", out, "--kv-cache-tokens", "4096")
    yield s
    s.stop()


# A copy with one key more, as gguf-py's gguf_new_metadata.py copies a file.
ADD_POOLING = """
import sys, gguf
src, dst = sys.argv[1], sys.argv[2]
reader = gguf.GGUFReader(src)
arch = reader.fields["general.architecture"].contents()
writer = gguf.GGUFWriter(dst, arch=arch, endianess=reader.endianess)
for field in reader.fields.values():
    if field.name.startswith("GGUF.") or field.name == "general.architecture":
        continue
    vtype = field.types[0]
    sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
    writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
writer.add_pooling_type(gguf.PoolingType.MEAN)
for t in reader.tensors:
    writer.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_ti_data_to_file()
for t in reader.tensors:
    writer.write_tensor_data(t.data, tensor_endianess=reader.endianess)
writer.close()
"""


def test_an_embedding_model_serves_embeddings_only(embedding_model):
    status, r = post(embedding_model, "/v1/embeddings", {"input": ["an embedding model", "another"]})
    assert status == 200 and len(r["data"]) == 2
    for path, body in (("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
                       ("/v1/completions", {"prompt": "hi"}),
                       ("/v1/responses", {"input": "hi"})):
        status, error = post(embedding_model, path, body)
        assert status == 400 and "embedding model" in error["error"]["message"], (path, error)
    meta = json.load(urllib.request.urlopen(embedding_model.url + "/v1/metadata"))
    assert meta["serves"] == {"generation": False, "embeddings": True, "pooling": "mean"}
