#!/usr/bin/env python3
"""Generate a tiny random-weight GGUF model of architecture `deci`.

The model mimics Llama-3.1-Nemotron (DeciLM) heterogeneous layers so tests can
exercise per-layer metadata arrays (head_count / head_count_kv /
feed_forward_length) and the KV-cache accounting that follows from them:

  layer 0: full attention, 4 heads / 2 KV heads (GQA 2)
  layer 1: "linear replacement" attention (head_count 4, head_count_kv 0):
           attn_norm + n_embd x n_embd attn_output only, no q/k/v, no KV cache
  layer 2: full attention, 4 heads / 1 KV head (GQA 4)
  layer 3: attention-free layer (head_count 0, head_count_kv 0), FFN only
  layer 4: FFN-free dummy layer (all three 0): no tensors at all
  layer 5: full attention, 4 heads / 4 KV heads (MHA); last layer keeps an FFN

FFN widths differ per layer. The tokenizer (Llama-3 BPE, 128256 tokens) is
copied verbatim from llama.cpp's models/ggml-vocab-llama-bpe.gguf.

Tensor names/shapes follow llama.cpp src/models/deci.cpp (load_arch_tensors)
and the metadata follows conversion/deci.py (DeciModel.set_gguf_parameters).
Layer 0 must have attention heads: llama.cpp derives the head size / n_rot
check from hparams.n_head() == head_count[0].

Output is deterministic (fixed numpy seed).

Larger shapes, for GPU throughput checks (`--shape`): `llama1b` (Llama-3.2-1B-like, all
layers full attention), and layer-proportional slices of Llama-3.1-70B (`llama70b`) and
Llama-3.3-Nemotron-Super-49B (`super49b`), `--layers` deep, taking every k-th layer of the
80. Their weights repeat one random block, so a multi-GB file is written in seconds; the
values don't matter for speed. `--layers 80` gives the whole model; `--scale N` divides its
hidden size and head size by N (64 heads, 8 KV heads and the layer pattern stay), for dry
runs of GPU scripts on a CPU.

`--sparse` writes only the header, the metadata and the tensor infos, then extends the file
to its full size with truncate: a sparse file whose weights are all zeros, so a 70B-shaped
model takes seconds and no disk blocks beyond the header. Zero Q8_0 blocks (scale 0) and
zero F16 values are valid weights, and the cost per token does not depend on the values.

Usage:
  python3 scripts/make-tiny-deci.py --llama-src path/to/llama.cpp \\
      --out /tmp/tiny-deci.gguf [--json /tmp/tiny-deci.json] [--shape tiny]
  python3 scripts/make-tiny-deci.py --llama-src path/to/llama.cpp --shape llama70b \\
      --layers 80 --sparse --type q8_0 --out /tmp/llama70b.gguf
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

N_EMBD = 128
HEAD_DIM = 32
N_HEAD = N_EMBD // HEAD_DIM  # 4; n_head * head_dim == n_embd, as in real Nemotron
CONTEXT_LENGTH = 4096
ROPE_FREQ_BASE = 500000.0
RMS_EPS = 1e-5
SEED = 1234

# (head_count, head_count_kv, feed_forward_length) per layer
LAYERS = [
    (N_HEAD, 2, 256),  # full attention, GQA
    (N_HEAD, 0, 384),  # linear-replacement attention
    (N_HEAD, 1, 192),  # full attention, single KV head
    (0, 0, 320),       # attention-free
    (0, 0, 0),         # FFN-free dummy (must also be attention-free)
    (N_HEAD, N_HEAD, 512),  # full attention, MHA; last layer keeps FFN
]

VOCAB_FILE = os.path.join("models", "ggml-vocab-llama-bpe.gguf")

# Super-49B: attention is a no-op at these of its 80 layers; the rest keep 8 KV heads
# (the planner's ModelShape.super49BNoAttention).
SUPER49B_NOOP = {6, 7, 11, *range(42, 52), *range(53, 71)}
# FFN multipliers in layer order, from block_configs of the published config.json of
# nvidia/Llama-3_3-Nemotron-Super-49B-v1. Counts as in the planner's
# ModelShape.super49BFFNMultipliers: 5.25x49, 2.625x6, 1.3125x10, 1.0x8, 0.5x6, 3.28125x1.
SUPER49B_FFN_MULTS = ([2.625] + [5.25] * 5 + [2.625] * 2 + [5.25] * 3 + [3.28125] + [5.25] * 30 +
                      [1.3125, 2.625, 2.625, 1.3125, 5.25, 1.3125, 2.625, 1.3125, 1.3125, 1.3125] +  # 42-51
                      [5.25] +                                                                         # 52
                      [1.3125, 1.0, 1.0, 1.3125, 1.0, 1.0, 1.0, 1.3125, 1.3125, 0.5, 0.5, 1.0, 1.0,     # 53-65
                       0.5, 0.5, 1.0, 0.5, 0.5] +                                                      # 66-70
                      [5.25] * 9)


def ffn_width(mult: float, hidden: int) -> int:
    """DeciLM's rule: find_multiple(int(2 * ffn_mult * hidden / 3), 256)."""
    n = int(2 * mult * hidden / 3)
    return (n + 255) // 256 * 256


def set_shape(shape: str, n_layers: int, scale: int = 1) -> None:
    """Replaces the tiny layout with a bigger one (module globals, used by main)."""
    global N_EMBD, HEAD_DIM, N_HEAD, LAYERS
    if shape == "tiny":
        return
    if shape == "llama1b":
        N_EMBD, HEAD_DIM = 2048, 64
        N_HEAD = N_EMBD // HEAD_DIM
        LAYERS = [(N_HEAD, 8, 8192)] * (n_layers or 16)
        return
    N_EMBD, HEAD_DIM = 8192 // scale, 128 // scale
    N_HEAD = N_EMBD // HEAD_DIM
    step = 80 // (n_layers or 8)
    picked = range(0, 80, step)
    if shape == "llama70b":
        LAYERS = [(N_HEAD, 8, 28672 // scale) for _ in picked]
    else:
        assert len(SUPER49B_FFN_MULTS) == 80
        LAYERS = [(0 if i in SUPER49B_NOOP else N_HEAD, 0 if i in SUPER49B_NOOP else 8,
                   ffn_width(SUPER49B_FFN_MULTS[i], N_EMBD)) for i in picked]
        if LAYERS[0][0] == 0 or LAYERS[-1][2] == 0:
            raise SystemExit("slice must start with attention and end with an FFN")


def validate_layers() -> None:
    assert LAYERS[0][0] > 0, "layer 0 must have attention heads"
    assert LAYERS[-1][2] > 0, "the last layer must keep its FFN"
    for il, (nh, nkv, nff) in enumerate(LAYERS):
        assert nkv <= nh, f"layer {il}: head_count_kv > head_count"
        if nkv > 0:
            assert nh % nkv == 0, f"layer {il}: head_count not divisible by head_count_kv"
        if nff == 0:
            assert nh == 0 and nkv == 0, f"layer {il}: FFN-free layer must be attention-free"
        if nh > 0 and nkv == 0:
            assert nh * HEAD_DIM == N_EMBD, f"layer {il}: linear attention needs n_head*head_dim == n_embd"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-src", required=True, help="llama.cpp source dir (contains gguf-py/ and models/)")
    ap.add_argument("--out", required=True, help="output .gguf path")
    ap.add_argument("--json", help="also write the per-layer layout as JSON to this path")
    ap.add_argument("--embd-type", choices=["q8_0", "f16"], default="q8_0",
                    help="type of token_embd/output (the 128k-vocab tensors dominate file size); default q8_0")
    ap.add_argument("--shape", choices=["tiny", "llama1b", "llama70b", "super49b"], default="tiny")
    ap.add_argument("--layers", type=int, default=0, help="layers for the bigger shapes")
    ap.add_argument("--scale", type=int, choices=[1, 2, 4, 8, 16], default=1,
                    help="divide hidden and head size of llama70b/super49b by this (CPU dry runs)")
    ap.add_argument("--type", choices=["q8_0", "f16"], default="f16", help="type of the layer matrices; default f16")
    ap.add_argument("--sparse", action="store_true",
                    help="write header, metadata and tensor infos only; the weights are a zero-filled hole")
    args = ap.parse_args()
    set_shape(args.shape, args.layers, args.scale)
    fast = args.shape != "tiny"

    llama_src = os.path.abspath(args.llama_src)
    sys.path.insert(0, os.path.join(llama_src, "gguf-py"))
    import gguf  # noqa: E402
    from gguf.constants import GGUFValueType, GGMLQuantizationType  # noqa: E402

    validate_layers()
    n_layer = len(LAYERS)
    head_count = [l[0] for l in LAYERS]
    head_count_kv = [l[1] for l in LAYERS]
    ffn_len = [l[2] for l in LAYERS]

    # ---- tokenizer from the reference vocab file ----
    vocab_path = os.path.join(llama_src, VOCAB_FILE)
    reader = gguf.GGUFReader(vocab_path)
    tok_fields = [(k, f) for k, f in reader.fields.items() if k.startswith("tokenizer.")]
    tokens_field = reader.fields["tokenizer.ggml.tokens"]
    n_vocab = len(tokens_field.data)

    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.DECI]
    assert arch == "deci"
    w = gguf.GGUFWriter(args.out, arch)

    qtypes = {"q8_0": GGMLQuantizationType.Q8_0, "f16": GGMLQuantizationType.F16}
    embd_qtype, mat_qtype = qtypes[args.embd_type], qtypes[args.type]
    w.add_name("tiny-deci" if args.shape == "tiny" else f"{'zero' if args.sparse else 'random'}-{args.shape}")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if "q8_0" in (args.embd_type, args.type) else gguf.LlamaFileType.MOSTLY_F16)
    w.add_block_count(n_layer)
    w.add_context_length(CONTEXT_LENGTH)
    w.add_embedding_length(N_EMBD)
    # per-layer arrays (INT32 arrays, exactly as convert_hf_to_gguf writes them)
    w.add_head_count(head_count)
    w.add_head_count_kv(head_count_kv)
    w.add_feed_forward_length(ffn_len)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(ROPE_FREQ_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)
    w.add_vocab_size(n_vocab)

    # copy tokenizer.* verbatim, preserving value / element types
    for key, field in tok_fields:
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            sub = field.types[1]
            if sub == GGUFValueType.STRING:
                val = [bytes(field.parts[i]) for i in field.data]  # raw bytes, no re-encoding
            elif sub == GGUFValueType.ARRAY:
                raise SystemExit(f"nested array in {key} not supported")
            else:
                val = [field.parts[i].tolist()[0] for i in field.data]
            w.add_key_value(key, val, vtype, sub_type=sub)
        elif vtype == GGUFValueType.STRING:
            w.add_key_value(key, bytes(field.parts[field.data[0]]), vtype)
        else:
            w.add_key_value(key, field.parts[field.data[0]].tolist()[0], vtype)

    # ---- tensors (numpy shape is the reverse of ggml ne) ----
    rng = np.random.default_rng(SEED)

    block = rng.standard_normal(1 << 20, dtype=np.float32) * 0.02 if fast else None

    def rand(*shape: int) -> np.ndarray:
        if fast:  # one random block repeated: seconds instead of minutes for GBs
            return np.resize(block, shape)
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02)

    def ones(*shape: int) -> np.ndarray:
        return np.ones(shape, dtype=np.float32)

    F32 = GGMLQuantizationType.F32

    def put(name: str, shape: tuple[int, ...], qtype: GGMLQuantizationType, fill) -> None:
        """Adds a tensor (numpy shape: the reverse of ggml ne), or only its info when sparse."""
        if args.sparse:
            per_block, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
            nbytes = int(np.prod(shape)) // per_block * block_bytes
            w.add_tensor_info(name, shape, np.dtype(np.float32), nbytes, raw_dtype=qtype)
        elif qtype == F32:
            w.add_tensor(name, fill(*shape))
        elif qtype == GGMLQuantizationType.F16:
            w.add_tensor(name, fill(*shape).astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(fill(*shape), qtype), raw_dtype=qtype)

    put("token_embd.weight", (n_vocab, N_EMBD), embd_qtype, rand)  # ne {n_embd, n_vocab}
    put("output_norm.weight", (N_EMBD,), F32, ones)
    put("output.weight", (n_vocab, N_EMBD), embd_qtype, rand)

    def mat(name: str, rows: int, cols: int) -> None:
        put(name, (rows, cols), mat_qtype, rand)

    for il, (nh, nkv, nff) in enumerate(LAYERS):
        p = f"blk.{il}."
        if nh > 0 and nkv == 0:
            put(p + "attn_norm.weight", (N_EMBD,), F32, ones)
            mat(p + "attn_output.weight", N_EMBD, N_EMBD)
        elif nkv > 0:
            put(p + "attn_norm.weight", (N_EMBD,), F32, ones)
            mat(p + "attn_q.weight", nh * HEAD_DIM, N_EMBD)   # ne {n_embd, n_embd_q}
            mat(p + "attn_k.weight", nkv * HEAD_DIM, N_EMBD)  # ne {n_embd, n_embd_k_gqa}
            mat(p + "attn_v.weight", nkv * HEAD_DIM, N_EMBD)
            mat(p + "attn_output.weight", N_EMBD, nh * HEAD_DIM)  # ne {n_embd_q, n_embd}
        if nff > 0:
            put(p + "ffn_norm.weight", (N_EMBD,), F32, ones)
            mat(p + "ffn_gate.weight", nff, N_EMBD)  # ne {n_embd, n_ff}
            mat(p + "ffn_up.weight", nff, N_EMBD)
            mat(p + "ffn_down.weight", N_EMBD, nff)  # ne {n_ff, n_embd}

    w.write_header_to_file()
    w.write_kv_data_to_file()
    if args.sparse:
        # What write_tensors_to_file would write, less the data: tensor infos (offsets padded
        # to the alignment), padding to the data section, then a hole as long as the data.
        # llama.cpp only checks that every tensor's offset + size lies within the file.
        w.write_ti_data_to_file()
        fout = w.fout[0]
        w.write_padding(fout, fout.tell())
        data_offset = fout.tell()
        data = sum(gguf.GGUFWriter.ggml_pad(ti.nbytes, w.data_alignment) for ti in w.tensors[0].values())
        fout.truncate(data_offset + data)
    else:
        w.write_tensors_to_file()
    w.close()

    layout = {
        "head_count": head_count,
        "head_count_kv": head_count_kv,
        "feed_forward_length": ffn_len,
        "n_embd": N_EMBD,
        "head_dim": HEAD_DIM,
        "n_layer": n_layer,
        "vocab_size": n_vocab,
        "kv_bytes_per_token_f16": 2 * sum(head_count_kv) * HEAD_DIM * 2,
    }
    if args.sparse:
        layout["data_offset"] = data_offset
    text = json.dumps(layout)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
