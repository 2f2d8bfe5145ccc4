#!/usr/bin/env python3
"""Make a small random LoRA adapter GGUF for a base model, for tests and benchmarks.

The adapter pairs a random low-rank A (rank x n_in) and B (n_out x rank) with the
attention's query and value projections of every layer, as PEFT's default LoRA target
modules do, and writes them the way llama.cpp's `convert_lora_to_gguf.py` does:

  general.type = adapter, adapter.type = lora, adapter.lora.alpha = alpha,
  general.architecture = the base model's; tensors `blk.N.attn_q.weight.lora_a` of ggml
  shape [n_in, rank] and `...lora_b` of shape [rank, n_out], in F32.

The engine then adds (alpha / rank) * B @ A to each adapted weight. `--seed` makes
different adapters; `--arch` writes another architecture's name (a "wrong base" file the
server must refuse). Output is deterministic for a given seed.

Usage:
  python3 scripts/make-test-lora.py --llama-src path/to/llama.cpp --base model.gguf \\
      --out adapter.gguf [--rank 8] [--seed 1] [--strength 0.15]
"""
import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-src", required=True, help="llama.cpp source dir (contains gguf-py/)")
    ap.add_argument("--base", required=True, help="the base model's .gguf")
    ap.add_argument("--out", required=True, help="output adapter .gguf")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=0, help="adapter.lora.alpha; default: the rank (scale 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--strength", type=float, default=0.15, help="standard deviation of B's entries")
    ap.add_argument("--arch", help="architecture to write instead of the base's")
    ap.add_argument("--targets", default="attn_q,attn_v", help="comma-separated weight names to adapt")
    args = ap.parse_args()

    sys.path.insert(0, os.path.join(os.path.abspath(args.llama_src), "gguf-py"))
    import numpy as np  # noqa: E402
    import gguf  # noqa: E402

    base = gguf.GGUFReader(args.base)
    arch = args.arch or bytes(base.fields["general.architecture"].parts[-1]).decode()
    targets = set(args.targets.split(","))
    rng = np.random.default_rng(args.seed)
    w = gguf.GGUFWriter(args.out, arch)
    w.add_type(gguf.GGUFType.ADAPTER)
    w.add_string(gguf.Keys.Adapter.TYPE, "lora")
    w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(args.alpha or args.rank))
    pairs = 0
    for t in base.tensors:
        parts = t.name.split(".")
        if len(parts) != 4 or parts[0] != "blk" or parts[2] not in targets or parts[3] != "weight":
            continue
        n_in, n_out = int(t.shape[0]), int(t.shape[1])  # ggml order: ne[0] is the input width
        a = rng.normal(0, 1 / np.sqrt(n_in), size=(args.rank, n_in)).astype(np.float32)
        b = rng.normal(0, args.strength, size=(n_out, args.rank)).astype(np.float32)
        w.add_tensor(t.name + ".lora_a", a)  # numpy (rank, n_in) is ggml [n_in, rank]
        w.add_tensor(t.name + ".lora_b", b)  # numpy (n_out, rank) is ggml [rank, n_out]
        pairs += 1
    if pairs == 0:
        print(f"no tensors named {sorted(targets)} in {args.base}", file=sys.stderr)
        return 1
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{args.out}: {pairs} adapted tensors, rank {args.rank}, arch {arch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
