#!/usr/bin/env bash
# Builds the pinned llama.cpp engine (as vendored in llama-cpp-python==0.3.36) into a
# versioned prefix outside the repository and prints that prefix on stdout.
#
# Idempotent: a finished build leaves a stamp, and a second run only checks it.
#
#   scripts/bootstrap-engine.sh            CPU build of libllama
#   scripts/bootstrap-engine.sh --tools    also llama-server and llama-batched-bench
#   scripts/bootstrap-engine.sh --cuda     GGML_CUDA=ON for CUDA_ARCHS; without nvcc on the PATH
#                                          (or CUDACXX), the CUDA 13.0 toolkit comes from pip
#                                          wheels, pinned by version and sha256, into the cache
#                                          (scripts/cuda-toolkit.sh). No GPU is needed to build.
#   scripts/bootstrap-engine.sh --source   only fetch and unpack the source; print its dir
#   scripts/bootstrap-engine.sh --portable GGML_NATIVE=OFF: no -march=native, for images that
#                                          run on other CPUs than the build machine's
#
# Environment: CORRAL_CACHE (default ~/.cache/corral), CORRAL_JOBS (default nproc),
# CORRAL_ENGINE_SRC (an already unpacked copy of the pinned llama.cpp, for offline
# machines such as the GPU checker: no fetch, no apt-get), CUDA_ARCHS (with --cuda; default
# "80;86;89;90", Ampere to Hopper; `make engine-cuda` builds 90 only). The cuda prefix records
# its archs, and a prefix built for other archs is rebuilt.
set -euo pipefail

PIN_NAME=llama-cpp-python
PIN_VERSION=0.3.36
PIN_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e

cuda=0; tools=0; source_only=0; portable=0
for arg in "$@"; do
  case "$arg" in
    --cuda) cuda=1 ;;
    --tools) tools=1 ;;
    --source) source_only=1 ;;
    --portable) portable=1 ;;
    *) echo "bootstrap-engine: unknown option $arg" >&2; exit 2 ;;
  esac
done

cache=${CORRAL_CACHE:-$HOME/.cache/corral}
jobs=${CORRAL_JOBS:-$(nproc)}
flavor=$([ $cuda = 1 ] && echo cuda || echo cpu)
prefix=$cache/engine/$PIN_VERSION-$flavor
src=$cache/src/llama_cpp_python-$PIN_VERSION
log() { echo "bootstrap-engine: $*" >&2; }

# Done already? The stamp is written last, so a half-finished build never counts.
have_tools() { [ -x "$prefix/bin/llama-server" ] && [ -x "$prefix/bin/llama-batched-bench" ] \
  && [ -f "$prefix/lib/libllama-server-impl.so" ]; }
# libllama-common (grammars, the JSON-schema converter, Jinja chat templates) came later: a
# prefix without it, or without all its headers, is brought up to date, which only compiles
# the common library.
have_common() { [ -f "$prefix/lib/pkgconfig/llama-common.pc" ] && [ -f "$prefix/include/llama-common/jinja/parser.h" ]; }
cuda_archs=${CUDA_ARCHS:-80;86;89;90}
have_archs() { [ $cuda = 0 ] || [ "$(cat "$prefix/.cuda-archs" 2>/dev/null)" = "$cuda_archs" ]; }
if [ $source_only = 0 ] && [ -f "$prefix/.complete" ] && have_common && have_archs && { [ $tools = 0 ] || have_tools; }; then
  echo "$prefix"; exit 0
fi

# Tools a bare machine lacks, through apt-get by package name (skipped offline).
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v ninja >/dev/null || need+=(ninja-build)
command -v g++ >/dev/null || need+=(g++)
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

# Build: Release, shared libraries, no network features. libllama-common is always built:
# Corral's structured output uses its JSON-schema-to-grammar converter.
build=$cache/build/$PIN_VERSION-$flavor
cmake_args=(-S "$llama_src" -B "$build" -G Ninja
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON
  -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib
  -DCMAKE_INSTALL_RPATH="$prefix/lib"
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
  -DLLAMA_BUILD_COMMON=ON -DLLAMA_SUBPROCESS=OFF
  -DLLAMA_BUILD_TOOLS=$([ $tools = 1 ] && echo ON || echo OFF)
  -DLLAMA_BUILD_SERVER=$([ $tools = 1 ] && echo ON || echo OFF))
[ $portable = 1 ] && cmake_args+=(-DGGML_NATIVE=OFF)
if [ $cuda = 1 ]; then
  cmake_args+=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$cuda_archs")
  if [ -z "${CUDACXX:-}" ] && ! command -v nvcc >/dev/null; then
    # The wheels' toolkit has no libcuda stub to link against, so no VMM: ggml-cuda then
    # reaches the driver only through cudart, which loads libcuda at run time. Its lib/ goes
    # on the rpath after the prefix's, for this machine; elsewhere the system's libcudart.so.13
    # and libcublas.so.13 are found as usual.
    toolkit=$("$(dirname "$0")/cuda-toolkit.sh")
    # -rpath-link: the linker must find libcudart and libcublas behind libggml-cuda when it
    # links the tools, and the wheels' lib/ is on no search path.
    cmake_args+=(-DCMAKE_CUDA_COMPILER="$toolkit/bin/nvcc" -DCUDAToolkit_ROOT="$toolkit"
      -DGGML_CUDA_NO_VMM=ON -DCMAKE_INSTALL_RPATH="$prefix/lib;$toolkit/lib"
      -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$toolkit/lib"
      -DCMAKE_SHARED_LINKER_FLAGS="-Wl,-rpath-link,$toolkit/lib")
  fi
fi
log "configuring ($flavor$([ $tools = 1 ] && echo ', with tools'))"
cmake "${cmake_args[@]}" >&2
targets=(llama llama-common)
[ $tools = 1 ] && targets+=(llama-server llama-batched-bench)
log "building ${targets[*]} with $jobs jobs"
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >&2
if [ $tools = 1 ]; then
  mkdir -p "$prefix/bin"
  cp "$build/bin/llama-server" "$build/bin/llama-batched-bench" "$prefix/bin/"
  # The tools are thin executables over shared libraries the install rules skip.
  mkdir -p "$prefix/lib"
  cp -P "$build"/bin/libllama-server-impl.so "$build"/bin/libllama-batched-bench-impl.so "$build"/bin/libmtmd.so* \
    "$prefix/lib/"
  # The install rules of tools not built above would stop the install half-way, before
  # llama.pc: install with the tools configured out (nothing is rebuilt).
  cmake "${cmake_args[@]}" -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
fi
cmake --install "$build" >&2 || true
[ -f "$prefix/lib/pkgconfig/llama.pc" ] || { log "llama.pc missing under $prefix"; exit 1; }
# llama-common has an install rule for its library only: its headers (and the JSON library
# they include) go next to it, and a pkg-config file lets SwiftPM's CLlamaCommon find both.
inc=$prefix/include/llama-common
rm -rf "$inc"; mkdir -p "$inc/nlohmann"
(cd "$llama_src/common" && find . -name '*.h' -exec cp --parents {} "$inc/" \;)
cp "$llama_src"/vendor/nlohmann/*.hpp "$inc/nlohmann/"
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
touch "$prefix/.complete"
echo "$prefix"
