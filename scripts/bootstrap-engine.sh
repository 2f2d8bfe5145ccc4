#!/usr/bin/env bash
# Builds the pinned llama.cpp engine (as vendored in llama-cpp-python==0.3.36) into a
# versioned prefix outside the repository and prints that prefix on stdout.
#
# Idempotent: a finished build leaves a stamp, and a second run only checks it.
#
#   scripts/bootstrap-engine.sh            CPU build of libllama
#   scripts/bootstrap-engine.sh --tools    also llama-server and llama-batched-bench, built apart
#                                          from the unpatched source into PREFIX/peer, so peer
#                                          benchmarks run llama.cpp as upstream ships it
#   scripts/bootstrap-engine.sh --cuda     GGML_CUDA=ON for CUDA_ARCHS; without nvcc on the PATH
#                                          (or CUDACXX), the CUDA 13.0 toolkit comes from pip
#                                          wheels, pinned by version and sha256, into the cache
#                                          (scripts/cuda-toolkit.sh). No GPU is needed to build.
#   scripts/bootstrap-engine.sh --source   only fetch and unpack the pinned (unpatched) source;
#                                          print its dir
#   scripts/bootstrap-engine.sh --patched-source
#                                          the same, with Corral's patch series applied to a copy;
#                                          print the copy's dir (a patch that does not apply stops
#                                          here, with its name)
#   scripts/bootstrap-engine.sh --portable GGML_NATIVE=OFF: no -march=native, for images that
#                                          run on other CPUs than the build machine's
#
# Corral's libllama is the pinned source with the patch series in patches/llama.cpp applied in
# name order (each patch's header says what and why). The prefix records the series' hash in
# .series, so a changed, added or removed patch rebuilds it. Every build has GGML_RPC=ON: the
# same binary is the leader (--rpc) and the worker (`corral rpc-server`).
#
# Environment: CORRAL_PATCHES (the series folder; default the repository's patches/llama.cpp),
# CORRAL_CACHE (default ~/.cache/corral), CORRAL_JOBS (default nproc),
# CORRAL_ENGINE_SRC (an already unpacked copy of the pinned llama.cpp, for offline
# machines such as the GPU checker: no fetch, no apt-get), CUDA_ARCHS (with --cuda; default
# "80;86;89;90", Ampere to Hopper; `make engine-cuda` builds 90-real only). The cuda prefix records
# its archs, and a prefix built for other archs is rebuilt.
set -euo pipefail

PIN_NAME=llama-cpp-python
PIN_VERSION=0.3.36
PIN_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e

cuda=0; tools=0; source_only=0; patched_only=0; portable=0
for arg in "$@"; do
  case "$arg" in
    --cuda) cuda=1 ;;
    --tools) tools=1 ;;
    --source) source_only=1 ;;
    --patched-source) patched_only=1 ;;
    --portable) portable=1 ;;
    *) echo "bootstrap-engine: unknown option $arg" >&2; exit 2 ;;
  esac
done

cache=${CORRAL_CACHE:-$HOME/.cache/corral}
jobs=${CORRAL_JOBS:-$(nproc)}
flavor=$([ $cuda = 1 ] && echo cuda || echo cpu)
prefix=$cache/engine/$PIN_VERSION-$flavor
src=$cache/src/llama_cpp_python-$PIN_VERSION
patched=$cache/src/llama.cpp-$PIN_VERSION-patched
patches=${CORRAL_PATCHES:-$(cd "$(dirname "$0")/.." && pwd)/patches/llama.cpp}
log() { echo "bootstrap-engine: $*" >&2; }

# The series' identity: every patch's name and content, in the order they apply.
series=$(cd "$patches" 2>/dev/null && for f in $(ls -1 -- *.patch 2>/dev/null | LC_ALL=C sort); do
  echo "$f $(sha256sum < "$f" | cut -d' ' -f1)"; done | sha256sum | cut -c1-16)

# Done already? The stamp is written last, so a half-finished build never counts.
peer=$prefix/peer
have_tools() { [ -x "$peer/bin/llama-server" ] && [ -x "$peer/bin/llama-batched-bench" ] \
  && [ -f "$peer/lib/libllama-server-impl.so" ] && [ -f "$peer/.complete" ]; }
have_series() { [ "$(cat "$prefix/.series" 2>/dev/null)" = "$series" ]; }
# libllama-common (grammars, the JSON-schema converter, Jinja chat templates) came later: a
# prefix without it, or without all its headers, is brought up to date, which only compiles
# the common library.
have_common() { [ -f "$prefix/lib/pkgconfig/llama-common.pc" ] && [ -f "$prefix/include/llama-common/jinja/parser.h" ]; }
cuda_archs=${CUDA_ARCHS:-80;86;89;90}
have_archs() { [ $cuda = 0 ] || [ "$(cat "$prefix/.cuda-archs" 2>/dev/null)" = "$cuda_archs" ]; }
have_engine() { [ -f "$prefix/.complete" ] && have_common && have_archs && have_series; }
if [ $source_only = 0 ] && [ $patched_only = 0 ] && have_engine && { [ $tools = 0 ] || have_tools; }; then
  echo "$prefix"; exit 0
fi

# Tools a bare machine lacks, through apt-get by package name (skipped offline).
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v ninja >/dev/null || need+=(ninja-build)
command -v g++ >/dev/null || need+=(g++)
command -v patch >/dev/null || need+=(patch)
if [ ${#need[@]} -gt 0 ] && [ -z "${CORRAL_ENGINE_SRC:-}" ]; then
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  root=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { log "installing ${need[*]} needs root: run as root, with sudo, or install them first"; exit 1; }
    root=(sudo -E)
  fi
  "${root[@]}" apt-get update -qq >&2
  "${root[@]}" apt-get install -y -qq "${need[@]}" >&2
fi

# Source: the pinned sdist, fetched by package name and checked by hash.
if [ -n "${CORRAL_ENGINE_SRC:-}" ]; then
  llama_src=$(cd "$CORRAL_ENGINE_SRC" && pwd)
elif [ ! -f "$src/.unpacked" ]; then
  venv=$cache/venv-fetch
  if [ ! -x "$venv/bin/pip" ]; then
    log "creating $venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q scikit-build-core >&2
  fi
  dl=$cache/downloads; mkdir -p "$dl"
  sdist=$dl/llama_cpp_python-$PIN_VERSION.tar.gz
  if [ ! -f "$sdist" ]; then
    log "fetching $PIN_NAME==$PIN_VERSION"
    "$venv/bin/pip" download -q --no-deps --no-binary :all: --no-build-isolation \
      -d "$dl" "$PIN_NAME==$PIN_VERSION" >&2
  fi
  got=$(sha256sum "$sdist" | cut -d' ' -f1)
  if [ "$got" != "$PIN_SHA256" ]; then
    log "sha256 mismatch for $sdist: got $got, want $PIN_SHA256"; rm -f "$sdist"; exit 1
  fi
  rm -rf "$src"; mkdir -p "$cache/src"
  tar -xzf "$sdist" -C "$cache/src"
  touch "$src/.unpacked"
fi
llama_src=${llama_src:-$src/vendor/llama.cpp}
if [ $source_only = 1 ]; then echo "$llama_src"; exit 0; fi

# The patched copy: made again whenever the series or the pristine source it came from
# changes. A plain copy (fresh mtimes) so that the build recompiles everything it holds.
origin="$series $llama_src"
if [ "$(cat "$patched/.series" 2>/dev/null)" != "$origin" ]; then
  log "applying the patch series $series from $patches"
  rm -rf "$patched"; mkdir -p "$(dirname "$patched")"
  cp -r "$llama_src" "$patched"
  for f in $(cd "$patches" 2>/dev/null && ls -1 -- *.patch 2>/dev/null | LC_ALL=C sort); do
    # No fuzz: a patch that only applies somewhere else is a patch that no longer applies.
    if ! out=$(patch -d "$patched" -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch -s < "$patches/$f" 2>&1); then
      log "patch $f does not apply to llama.cpp $PIN_VERSION:"; echo "$out" >&2
      rm -rf "$patched"; exit 1
    fi
    log "applied $f"
  done
  echo "$origin" > "$patched/.series"
fi
if [ $patched_only = 1 ]; then echo "$patched"; exit 0; fi

# Build: Release, shared libraries, no network features, the RPC backend on (the remote
# devices of `--rpc`, and `corral rpc-server`). libllama-common is always built: Corral's
# structured output uses its JSON-schema-to-grammar converter. The CUDA prefix's rpath is
# $ORIGIN/../lib, which from lib/ and from bin/ is the prefix's lib/: it moves (the GPU
# carry), and a library that peer/lib links to finds its own dependencies in peer/lib.
#   cmake_args SOURCE BUILD PREFIX TOOLS(0|1) [GPU(0|1)]: the configure line both builds share.
cmake_args() {
  local s=$1 b=$2 p=$3 t=$4 gpu=${5:-$cuda} onoff rpath
  rpath=$([ $cuda = 1 ] && echo '$ORIGIN/../lib' || echo "$p/lib")
  onoff=$([ "$t" = 1 ] && echo ON || echo OFF)
  args=(-S "$s" -B "$b" -G Ninja
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
    -DCMAKE_INSTALL_PREFIX="$p" -DCMAKE_INSTALL_LIBDIR=lib
    -DCMAKE_INSTALL_RPATH="$rpath"
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_COMMON=ON -DLLAMA_SUBPROCESS=OFF -DGGML_RPC=ON
    -DLLAMA_BUILD_TOOLS=$onoff -DLLAMA_BUILD_SERVER=$onoff)
  [ $portable = 1 ] && args+=(-DGGML_NATIVE=OFF)
  if [ $gpu = 1 ]; then
    args+=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$cuda_archs")
    if [ -z "${CUDACXX:-}" ] && ! command -v nvcc >/dev/null; then
      # The wheels' toolkit has no libcuda stub to link against, so no VMM: ggml-cuda then
      # reaches the driver only through cudart, which loads libcuda at run time. Its lib/ goes
      # on the rpath after the prefix's, for this machine; elsewhere the system's libcudart.so.13
      # and libcublas.so.13 are found as usual.
      toolkit=$("$(dirname "$0")/cuda-toolkit.sh")
      # -rpath-link: the linker must find libcudart and libcublas behind libggml-cuda when it
      # links the tools, and the wheels' lib/ is on no search path.
      args+=(-DCMAKE_CUDA_COMPILER="$toolkit/bin/nvcc" -DCUDAToolkit_ROOT="$toolkit"
        -DGGML_CUDA_NO_VMM=ON -DCMAKE_INSTALL_RPATH="$rpath;$toolkit/lib"
        -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$toolkit/lib"
        -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$toolkit/lib")
    fi
  fi
}

# Corral's engine: libllama and libllama-common from the patched copy, installed into the prefix.
if ! have_engine; then
  build=$cache/build/$PIN_VERSION-$flavor
  # The build folder of a prefix from before the series was configured on the pristine source,
  # and CMake refuses a second source for one build folder.
  if [ -f "$build/CMakeCache.txt" ] && ! grep -q "^CMAKE_HOME_DIRECTORY:INTERNAL=$patched\$" "$build/CMakeCache.txt"; then
    rm -rf "$build"
  fi
  rm -f "$prefix/.complete"
  # Peer tools that link to this prefix's GPU libraries are rebuilt with it: the new series
  # may patch those libraries, and then the peer must have its own.
  [ -L "$peer/lib/libggml-cuda.so" ] && rm -f "$peer/.complete"
  cmake_args "$patched" "$build" "$prefix" 0
  log "configuring ($flavor, patch series $series)"
  cmake "${args[@]}" >&2
  log "building llama llama-common with $jobs jobs"
  cmake --build "$build" -j "$jobs" --target llama llama-common >&2
  cmake --install "$build" >&2 || true
  [ -f "$prefix/lib/pkgconfig/llama.pc" ] || { log "llama.pc missing under $prefix"; exit 1; }
  # llama-common has an install rule for its library only: its headers (and the JSON library
  # they include) go next to it, and a pkg-config file lets SwiftPM's CLlamaCommon find both.
  inc=$prefix/include/llama-common
  rm -rf "$inc"; mkdir -p "$inc/nlohmann"
  (cd "$patched/common" && find . -name '*.h' -exec cp --parents {} "$inc/" \;)
  cp "$patched"/vendor/nlohmann/*.hpp "$inc/nlohmann/"
  [ -f "$prefix/lib/libllama-common.so" ] || { log "libllama-common.so missing under $prefix"; exit 1; }
  cat > "$prefix/lib/pkgconfig/llama-common.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include/llama-common

Name: llama-common
Description: llama.cpp common library (grammars, JSON schema to GBNF), pinned for Corral
Version: $PIN_VERSION
Requires: llama
Cflags: -I\${includedir}
Libs: -L\${libdir} -lllama-common
PC
  [ $cuda = 1 ] && echo "$cuda_archs" > "$prefix/.cuda-archs"
  echo "$series" > "$prefix/.series"
  touch "$prefix/.complete"
fi

# The peer tools: llama-server and llama-batched-bench from the unpatched source, with their
# own libllama and libggml in PREFIX/peer/lib, so a comparison never runs our patches on
# both sides. The binaries carry that folder as their rpath from the start (no install step).
# With CUDA, while the series patches nothing under ggml/ but ggml-cpu, the GPU libraries
# (libggml-cuda, and libggml, libggml-base and libggml-rpc, which register and serve it) are
# the patched build's copies of the same source: the peer builds for the CPU, and those four
# in peer/lib link to ../../lib. That halves `make engine-cuda` (ggml-cuda compiles once) and
# the GPU carry. libggml-cpu, libllama, libllama-common and the tools' own stay the peer's.
peer_shares_gpu() {
  [ $cuda = 1 ] && ! grep -h '^+++ b/ggml/' "$patches"/*.patch 2>/dev/null | grep -qv '^+++ b/ggml/src/ggml-cpu/'
}
if [ $tools = 1 ] && ! have_tools; then
  pbuild=$cache/build/$PIN_VERSION-$flavor-peer
  rm -rf "$peer"
  pcuda=$cuda; shared=()
  if peer_shares_gpu; then pcuda=0; shared=(libggml-cuda libggml libggml-base libggml-rpc); fi
  cmake_args "$llama_src" "$pbuild" "$peer" 1 $pcuda
  args+=(-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON)
  log "configuring the peer tools ($flavor, unpatched$([ ${#shared[@]} -gt 0 ] && echo "; ggml-cuda shared with the engine"))"
  cmake "${args[@]}" >&2
  log "building llama-server llama-batched-bench with $jobs jobs"
  cmake --build "$pbuild" -j "$jobs" --target llama-server llama-batched-bench >&2
  mkdir -p "$peer/bin" "$peer/lib"
  cp "$pbuild/bin/llama-server" "$pbuild/bin/llama-batched-bench" "$peer/bin/"
  # The tools are thin executables over shared libraries (the build puts them all in bin/).
  cp -P "$pbuild"/bin/*.so* "$peer/lib/"
  for lib in "${shared[@]}"; do
    rm -f "$peer/lib/$lib".so*
    for f in "$prefix/lib/$lib".so*; do ln -s "../../lib/$(basename "$f")" "$peer/lib/$(basename "$f")"; done
  done
  [ $cuda = 1 ] && echo "$cuda_archs" > "$peer/.cuda-archs"
  touch "$peer/.complete"
fi
echo "$prefix"
