#!/usr/bin/env bash
# Lays out the files of the container image under DEST, NIM style, for the Dockerfile to copy
# into / (each build stage stages its part):
#   /opt/nim/bin/corral            the server (--binary)
#   /opt/nim/lib/lib{llama,llama-common,ggml*}  the engine's shared libraries (--engine PREFIX)
#   /opt/nim/lib/lib{cudart,cublas,cublasLt}.so.13  the CUDA runtime the CUDA engine loads
#                                  (--cuda-runtime ROOT, scripts/cuda-toolkit.sh's root); no
#                                  compiler, headers or static libraries. libcuda comes from
#                                  the driver, which the NVIDIA container runtime mounts.
#   /opt/nim/licenses/             Corral's and the engine's licence files, and the
#                                  Package.resolved the binary was built from
#   /opt/nim/.cache/models/        the model cache (a volume in the image)
#   /etc/ld.so.conf.d/corral.conf  /opt/nim/lib for the dynamic loader (run ldconfig after)
#
#   scripts/stage-image.sh DEST [--engine PREFIX] [--engine-src DIR] [--cuda-runtime ROOT] [--binary FILE]
#
# --engine-src is the unpacked llama-cpp-python sdist's vendor/llama.cpp, as printed by
# `scripts/bootstrap-engine.sh --source`; its licences go to /opt/nim/licenses.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 DEST [--engine PREFIX] [--engine-src DIR] [--cuda-runtime ROOT] [--binary FILE]" >&2; exit 2; }
dest=$1; shift
engine= engine_src= binary= cuda_runtime=
while [ $# -gt 0 ]; do
  case "$1" in
    --engine) engine=$2; shift 2 ;;
    --engine-src) engine_src=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --cuda-runtime) cuda_runtime=$2; shift 2 ;;
    *) echo "stage-image: unknown option $1" >&2; exit 2 ;;
  esac
done
nim=$dest/opt/nim
mkdir -p "$nim/bin" "$nim/lib" "$nim/licenses" "$nim/.cache/models" "$dest/etc/ld.so.conf.d"
echo /opt/nim/lib > "$dest/etc/ld.so.conf.d/corral.conf"

if [ -n "$engine" ]; then
  # Real files and their soname links; no pkg-config or CMake files, no headers.
  found=0
  for f in "$engine"/lib/libllama.so* "$engine"/lib/libllama-common.so* "$engine"/lib/libggml*.so*; do
    [ -e "$f" ] || continue
    cp -P "$f" "$nim/lib/"; found=1
  done
  [ $found = 1 ] || { echo "stage-image: no libllama/libggml under $engine/lib" >&2; exit 1; }
  [ -e "$nim/lib/libllama.so.0" ] || { echo "stage-image: libllama.so.0 missing under $engine/lib" >&2; exit 1; }
fi
if [ -n "$cuda_runtime" ]; then
  for lib in cudart cublas cublasLt; do
    f=$(ls "$cuda_runtime"/lib/lib$lib.so.[0-9]* 2>/dev/null | head -1)
    [ -n "$f" ] || { echo "stage-image: lib$lib.so.* missing under $cuda_runtime/lib" >&2; exit 1; }
    cp -L "$f" "$nim/lib/"
  done
  licence=$cuda_runtime/../../licenses/NVIDIA-CUDA-License.txt
  [ -f "$licence" ] || { echo "stage-image: $licence missing (scripts/cuda-toolkit.sh keeps it)" >&2; exit 1; }
  cp "$licence" "$nim/licenses/"
fi
if [ -n "$engine_src" ]; then
  cp "$engine_src/LICENSE" "$nim/licenses/llama.cpp-LICENSE"
  for f in "$engine_src"/licenses/*; do
    [ -e "$f" ] && cp "$f" "$nim/licenses/llama.cpp-$(basename "$f")"
  done
  sdist=$(cd "$engine_src/../.." && pwd)
  [ -f "$sdist/LICENSE.md" ] && cp "$sdist/LICENSE.md" "$nim/licenses/llama-cpp-python-LICENSE.md"
fi
if [ -n "$binary" ]; then
  install -m 0755 "$binary" "$nim/bin/corral"
  # Corral's own licence and notices, where the repository has them.
  for f in LICENSE LICENSE.md LICENSE.txt NOTICE; do
    [ -f "$here/$f" ] && cp "$here/$f" "$nim/licenses/corral-$f"
  done
  # The exact Swift packages the binary was built from, transitive ones included.
  [ -f "$here/Package.resolved" ] && cp "$here/Package.resolved" "$nim/licenses/corral-Package.resolved"
fi
echo "$dest"
