#!/usr/bin/env bash
# Prepares .gpu/ for a run on a GPU machine that has nvcc, CMake and Python but no Swift
# and no network: the pinned engine source trimmed to what a CUDA build needs, and a
# corral binary built here with --static-swift-stdlib, stripped and xz-compressed so the
# whole folder stays well under the 64 MiB a device call carries. Prints the folder.
#
#   scripts/gpu-carry.sh && then run scripts/gpu-check.sh on the GPU machine.
# The dry run here: GPU_DRY_RUN=1 scripts/gpu-check.sh (CPU engine, tiny sizes).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${CORRAL_CACHE:-$HOME/.cache/corral}
engine=$cache/engine/0.3.36-cpu
src=$(scripts/bootstrap-engine.sh --source)
out=.gpu
rm -rf "$out"; mkdir -p "$out"

# Source: everything CMake configures for GGML_CUDA=ON with the tools (llama-server and
# llama-batched-bench, for the side-by-side comparison), plus gguf-py and one vocab file
# for the random-weight model. Other backends, tests and vocab files stay behind, and the
# tree travels as one tar.xz (about a tenth of its size).
drop=()
for d in models tests examples docs media app benches pocs .git; do drop+=(--exclude="./$d"); done
for b in cann et hexagon hip metal musa opencl openvino sycl virtgpu vulkan webgpu zdnn zendnn; do
  drop+=(--exclude="./ggml/src/ggml-$b")
done
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/llama.cpp/models"
tar -C "$src" "${drop[@]}" -cf - . | tar -C "$stage/llama.cpp" -xf -
cp "$src/models/ggml-vocab-llama-bpe.gguf" "$stage/llama.cpp/models/"
tar -C "$stage" -cf - llama.cpp | xz -T0 -6 > "$out/llama.cpp.tar.xz"

# Binary: static Swift runtime; libllama comes from the CUDA build next to it ($ORIGIN/../lib).
PKG_CONFIG_PATH=$engine/lib/pkgconfig swift build -c release --static-swift-stdlib \
  --scratch-path .build-static --product corral -Xlinker -rpath -Xlinker '$ORIGIN/../lib' >&2
cp .build-static/release/corral "$out/corral"
strip "$out/corral"
xz -T0 -6 "$out/corral"
du -sh "$out" >&2
echo "$out"
