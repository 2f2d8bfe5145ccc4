# Sourced by scripts/gpu-check.sh and scripts/gpu-seed-compare.sh on the device machine:
# `gpu_engine [--tools]` sets $engine to a CUDA engine prefix (lib/, bin/) with the carried
# corral in bin/, and $engine_how to how it got there. Device time counts from the first
# minute, so:
#   1. the prebuilt engine from .gpu/engine-cuda.tar.xz (scripts/gpu-carry.sh: sm_90, built
#      by `make engine-cuda` with the pip-wheel CUDA 13.0 toolkit), when present AND
#      loadable: its libraries and tools must resolve every library, libcudart.so.13 and
#      libcublas(Lt).so.13 included, from this machine (ldd shows no "not found"); the CUDA
#      library folders found here go on LD_LIBRARY_PATH, which is exported;
#   2. otherwise the source build of bootstrap-engine.sh --cuda from .gpu/llama.cpp.tar.xz
#      (about 250 s on 16 cores), reused when an earlier script built it (same CORRAL_CACHE).
# --tools: llama-server and llama-batched-bench are needed too (the prebuilt engine has them).
# Environment: LLAMA_SRC (the unpacked source, set by the caller), CUDA_ARCHS (default 90-real),
# CUDA_LIB_DIRS (more folders to find the CUDA runtime in), GPU_PREBUILT=0 (skip step 1).
# GPU_DRY_RUN=carry on a machine without a GPU: step 1 must succeed (the CUDA runtime from
# the cache's pip-wheel toolkit), or the caller stops.

# The folders that may hold libcudart.so.13 and libcublas.so.13 on this machine.
cuda_lib_dirs() {
  local d
  for d in ${CUDA_LIB_DIRS:-} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-13*/lib64 /usr/lib/x86_64-linux-gnu \
           "$(dirname "$(command -v nvcc 2>/dev/null || echo /nonexistent/bin/nvcc)")/../lib64" \
           /usr/local/lib/python3*/dist-packages/nvidia/cu13/lib /usr/lib/python3/dist-packages/nvidia/cu13/lib \
           "$HOME"/.local/lib/python3*/site-packages/nvidia/cu13/lib \
           "${CORRAL_CACHE:-$HOME/.cache/corral}"/cuda/*/nvidia/cu13/lib "$HOME"/.cache/corral/cuda/*/nvidia/cu13/lib; do
    [ -d "$d" ] && ls "$d"/libcudart.so.13* > /dev/null 2>&1 && (cd "$d" && pwd)
  done | awk '!seen[$0]++'
}

# Unpacks the carried engine and checks that it loads; 0 and $engine set, or 1 with the reason.
gpu_engine_prebuilt() {
  local tools=$1 carried=.gpu/engine-cuda.tar.xz dir f missing extra
  [ "${GPU_PREBUILT:-1}" = 1 ] || { echo "prebuilt engine skipped (GPU_PREBUILT=0)"; return 1; }
  [ -f "$carried" ] || { echo "no $carried"; return 1; }
  dir=${CORRAL_CACHE:-/tmp/corral-cache}/engine/prebuilt-cuda
  rm -rf "$dir"; mkdir -p "$dir"
  xz -dc "$carried" | tar -C "$dir" -xf - || { echo "$carried does not unpack"; return 1; }
  extra=$(cuda_lib_dirs | paste -sd: -)
  export LD_LIBRARY_PATH=$dir/lib${extra:+:$extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  mkdir -p "$dir/bin"
  xz -dc .gpu/corral.xz > "$dir/bin/corral" && chmod +x "$dir/bin/corral"
  for f in "$dir"/lib/libggml-cuda.so "$dir"/lib/libllama.so "$dir/bin/corral" \
           $([ "$tools" = 1 ] && echo "$dir/peer/bin/llama-server $dir/peer/bin/llama-batched-bench"); do
    [ -e "$f" ] || { echo "the carried engine lacks $(basename "$f")"; return 1; }
    missing=$(ldd "$f" 2>&1 | grep 'not found' | awk '{print $1}' | sort -u | tr '\n' ' ')
    [ -z "$missing" ] || { echo "$(basename "$f") cannot load: $missing not found (CUDA libraries from: ${extra:-none})"; return 1; }
  done
  engine=$dir
  engine_how="prebuilt CUDA_ARCHS=$(cat "$dir/.cuda-archs" 2>/dev/null || echo "?") engine from $carried, CUDA runtime from ${extra:-the default search path}"
}

gpu_engine() {
  local tools=0 why
  [ "${1:-}" = --tools ] && tools=1
  local t=$(date +%s)
  local saved=${LD_LIBRARY_PATH-} had=${LD_LIBRARY_PATH+1}
  if gpu_engine_prebuilt $tools > /tmp/gpu-engine-why 2>&1; then
    engine_how="$engine_how, ready in $(( $(date +%s) - t )) s"
    return 0
  fi
  # The source build must not pick up the carried libraries of the same sonames.
  if [ -n "$had" ]; then export LD_LIBRARY_PATH=$saved; else unset LD_LIBRARY_PATH; fi
  echo "gpu-engine: not using the prebuilt engine: $(cat /tmp/gpu-engine-why)" >&2
  [ "${GPU_DRY_RUN:-0}" = carry ] && return 1
  if [ ! -f "$LLAMA_SRC/CMakeLists.txt" ]; then
    echo "gpu-engine: no fallback build: the carried source is only gguf-py and the vocab (the carry was over" \
      "64 MiB with the whole source); ENGINE_CUDA=none scripts/gpu-carry.sh carries the source instead" >&2
    return 1
  fi
  export CORRAL_CACHE=${CORRAL_CACHE:-/tmp/corral-cache} CORRAL_ENGINE_SRC=$LLAMA_SRC CUDA_ARCHS=${CUDA_ARCHS:-90-real}
  engine=$(scripts/bootstrap-engine.sh --cuda $([ $tools = 1 ] && echo --tools) 2> /tmp/engine-build.log) \
    || { tail -40 /tmp/engine-build.log >&2; return 1; }
  mkdir -p "$engine/bin"
  xz -dc .gpu/corral.xz > "$engine/bin/corral" && chmod +x "$engine/bin/corral"
  engine_how="source build of the pinned llama.cpp (CUDA_ARCHS=$CUDA_ARCHS), $(( $(date +%s) - t )) s incl. reuse"
}
