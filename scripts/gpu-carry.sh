#!/usr/bin/env bash
# Prepares .gpu/ for a run on a GPU machine that has nvcc, CMake and Python but no Swift
# and no network, all within the 64 MiB a device call carries. Prints the folder.
#   .gpu/engine-cuda.tar.xz  the prebuilt CUDA engine for sm_90 (`make engine-cuda`):
#                            libllama, libllama-common, libggml* (patched), and in peer/ the
#                            unpatched llama-server and llama-batched-bench (and their
#                            libraries), stripped; the GPU scripts use it when it
#                            loads there (scripts/gpu-engine.sh), so a check measures from
#                            its first minute instead of building for about 250 s
#   .gpu/llama.cpp.tar.xz    the pinned engine source, trimmed to what a CUDA build needs:
#                            the fallback build, and gguf-py and the vocab for the models
#   .gpu/corral.xz           the release binary (scripts/build-release.sh: static Swift
#                            runtime, rpath $ORIGIN/../lib), stripped
# Each part is xz-compressed. Over what the working tree leaves of 64 MiB, the source
# shrinks to what the checks run (gguf-py and one vocab file: no fallback build), and the
# carry says so. Measured: engine 40.1 MiB, corral 19.5 MiB (both through the x86 filter),
# source 5.9 MiB: 65.5 MiB, so the source shrinks (1.6 MiB) and the carry is 61.1 MiB, with
# a 1.8 MiB tree 62.9 MiB (xz -9e saves under 1%). With the peer tools' own unpatched
# libraries the engine grew to 42.7 MiB and the carry no longer fit (2026-12-07). Since then
# `make engine-cuda` builds sm_90 machine code only (CUDA_ARCHS=90-real: no PTX, which was
# half of libggml-cuda), and the peer tools link to the patched build's libggml-cuda,
# libggml, libggml-base and libggml-rpc (bootstrap-engine.sh): the engine part measured
# 23.6 MiB (2026-12-07, 24,770,348 bytes), so with corral (19.6 MiB when last measured) and
# the whole trimmed source (5.9 MiB) the carry is about 49 MiB, under the limit again.
# Where the prebuilt engine cannot load (no
# libcudart.so.13 and libcublas.so.13 there), ENGINE_CUDA=none carries the whole source
# instead, and the GPU scripts build the engine as before.
#
#   scripts/gpu-carry.sh && then run scripts/gpu-check.sh on the GPU machine.
# The dry runs here: GPU_DRY_RUN=1 scripts/gpu-check.sh (CPU engine, tiny sizes), and
# GPU_DRY_RUN=carry scripts/gpu-check.sh (this carry: unpack, ldd, start up to device detection).
# Environment: CORRAL_CACHE; ENGINE_CUDA (default: `make engine-cuda`'s prefix; none: no
# prebuilt engine, the whole source).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${CORRAL_CACHE:-$HOME/.cache/corral}
engine_cuda=${ENGINE_CUDA:-$cache/engine/0.3.36-cuda}
src=$(scripts/bootstrap-engine.sh --source)
out=.gpu
# The 64 MiB a call carries holds the working tree too (tracked files, and untracked ones
# git does not ignore), so the carry gets what the tree leaves, less 256 KiB of headroom.
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
limit=$(( 64 * 1024 * 1024 - ${tree:-0} - 256 * 1024 ))
rm -rf "$out"; mkdir -p "$out"
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
# x86-64 code compresses about 11% smaller behind xz's BCJ filter (the corral binary; the
# engine's CUDA kernels are not x86 code, so there it saves about 1.5%); unxz undoes it alone.
bcj=$([ "$(uname -m)" = x86_64 ] && echo "--x86" || true)
xzc() { xz -T0 $bcj --lzma2=preset=6 "$@"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }

# Engine: the sm_90 build, when `make engine-cuda` made it (its tools included).
if [ -f "$engine_cuda/.complete" ] && [ -x "$engine_cuda/peer/bin/llama-server" ]; then
  mkdir -p "$stage/engine/lib" "$stage/engine/peer/lib" "$stage/engine/peer/bin"
  cp -P "$engine_cuda"/lib/libllama.so* "$engine_cuda"/lib/libllama-common.so* "$engine_cuda"/lib/libggml*.so* "$stage/engine/lib/"
  # The peer tools run the unpatched engine: their own libraries (libllama-server-impl,
  # libllama-batched-bench-impl, libmtmd, libllama, libllama-common, libggml-cpu) in peer/lib,
  # and links to the patched build's libggml-cuda, libggml, libggml-base and libggml-rpc,
  # which no patch touches (bootstrap-engine.sh, the peer tools); cp -P keeps the links.
  cp -P "$engine_cuda"/peer/lib/*.so* "$stage/engine/peer/lib/"
  [ -L "$stage/engine/peer/lib/libggml-cuda.so" ] \
    || echo "gpu-carry: the peer tools carry their own libggml-cuda (a patch touches ggml/): a second copy" >&2
  cp "$engine_cuda/peer/bin/llama-server" "$engine_cuda/peer/bin/llama-batched-bench" "$stage/engine/peer/bin/"
  cp "$engine_cuda/.cuda-archs" "$stage/engine/"
  find "$stage/engine" -type f -name '*.so*' -exec strip --strip-unneeded {} +
  strip "$stage/engine/peer/bin/"*
  tar -C "$stage/engine" -cf - . | xzc > "$out/engine-cuda.tar.xz"
  echo "gpu-carry: engine-cuda.tar.xz $(mib "$(stat -c %s "$out/engine-cuda.tar.xz")") (CUDA_ARCHS=$(cat "$engine_cuda/.cuda-archs"))" >&2
else
  echo "gpu-carry: no CUDA engine at $engine_cuda (make engine-cuda): the GPU machine builds it from source" >&2
fi

# Binary: static Swift runtime; libllama comes from the engine next to it ($ORIGIN/../lib).
binary=$(SCRATCH=.build-static scripts/build-release.sh)
cp "$binary" "$out/corral"
strip "$out/corral"
xzc "$out/corral"

# Source: everything CMake configures for GGML_CUDA=ON with the tools (llama-server and
# llama-batched-bench, for the side-by-side comparison), plus gguf-py and one vocab file
# for the random-weight model. Other backends, tests and vocab files stay behind, and the
# tree travels as one tar.xz (about a tenth of its size).
drop=()
# The web UI's sources (8 MB) stay behind too: with LLAMA_BUILD_UI=OFF CMake embeds none of
# them, only tools/ui/CMakeLists.txt and its scripts are read.
for d in models tests examples docs media app benches pocs .git tools/ui/src tools/ui/tests tools/ui/static; do
  drop+=(--exclude="./$d")
done
for b in cann et hexagon hip metal musa opencl openvino sycl virtgpu vulkan webgpu zdnn zendnn; do
  drop+=(--exclude="./ggml/src/ggml-$b")
done
mkdir -p "$stage/llama.cpp/models"
tar -C "$src" "${drop[@]}" -cf - . | tar -C "$stage/llama.cpp" -xf -
cp "$src/models/ggml-vocab-llama-bpe.gguf" "$stage/llama.cpp/models/"
tar -C "$stage" -cf - llama.cpp | xz -T0 -6 > "$out/llama.cpp.tar.xz"
total=$(du -cb "$out"/* | tail -1 | cut -f1)
if [ "$total" -gt "$limit" ]; then
  # Only what the checks run: gguf-py and the vocab (make-tiny-deci.py); no fallback build.
  echo "gpu-carry: $(mib "$total") is over $(mib "$limit"): the source shrinks to gguf-py and the vocab" >&2
  tar -C "$stage" -cf - llama.cpp/gguf-py llama.cpp/models | xz -T0 -6 > "$out/llama.cpp.tar.xz"
  total=$(du -cb "$out"/* | tail -1 | cut -f1)
fi
for f in "$out"/*; do echo "gpu-carry: $(basename "$f") $(mib "$(stat -c %s "$f")")" >&2; done
echo "gpu-carry: $(mib "$total") in all, $(mib "$limit") left by the working tree's $(mib "${tree:-0}") (64 MiB a call)" >&2
[ "$total" -le "$limit" ] || { echo "gpu-carry: still over the limit" >&2; exit 1; }
echo "$out"
