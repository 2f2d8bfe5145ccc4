#!/usr/bin/env bash
# Installs a CUDA 13.0 toolkit (nvcc, cicc, ptxas, headers, cudart, cuBLAS) from NVIDIA's pip
# wheels into the cache and prints its root, for machines without nvcc: the development
# machines, and images built without NVIDIA's base images. No GPU or driver is needed to
# compile; one is needed to run what it builds.
#
#   scripts/cuda-toolkit.sh          install (once) and print the root
#   scripts/cuda-toolkit.sh --wheels only fetch and check the wheels; print their folder
#
# The root holds bin/nvcc, nvvm/, include/ and lib/ (libcudart.so.13, libcublas.so.13,
# libcublasLt.so.13: what the engine needs at run time; scripts/stage-image.sh --cuda-runtime
# copies those into the CUDA image), and ../../licenses/NVIDIA-CUDA-License.txt.
#
# Why CUDA 13.0 (update 2): no nvidia-cuda-nvcc-cu12 wheel ships nvcc or cicc (12.4 to 12.9
# hold only ptxas, libnvvm and headers); the CUDA 13 wheels do. 13.0 is the oldest such
# toolkit, so its SASS and its libcudart.so.13 need only a driver of CUDA 13.0 (R580), the
# GPU machine's, with no minor-version compatibility caveats.
#
# Each wheel is pinned by version and sha256 (pip checks the hashes itself, --require-hashes,
# and this script checks them again). They all unpack into one tree, nvidia/cu13; the root is
# that tree, with the executable bits a zip loses, the unversioned library links that CMake's
# FindCUDAToolkit looks for, and lib64 (where nvcc.profile looks) as a link to lib.
#
# Environment: CORRAL_CACHE (default ~/.cache/corral).
set -euo pipefail

CUDA_VERSION=13.0.2
# name version sha256 (the manylinux x86_64 wheel)
WHEELS="
nvidia-cuda-nvcc    13.0.88  56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03
nvidia-nvvm         13.0.88  c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0
nvidia-cuda-crt     13.0.88  2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4
nvidia-cuda-runtime 13.0.96  7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548
nvidia-cuda-cccl    13.0.85  e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649
nvidia-cublas       13.1.0.3 ee8722c1f0145ab246bccb9e452153b5e0515fd094c3678df50b2a0888b8b171
"

wheels_only=0
case "${1:-}" in
  --wheels) wheels_only=1 ;;
  "") ;;
  *) echo "cuda-toolkit: unknown option $1" >&2; exit 2 ;;
esac

cache=${CORRAL_CACHE:-$HOME/.cache/corral}
dl=$cache/downloads/cuda-$CUDA_VERSION
top=$cache/cuda/$CUDA_VERSION
root=$top/nvidia/cu13
log() { echo "cuda-toolkit: $*" >&2; }

# NVIDIA's licence (the CUDA EULA, the same text in every wheel), which governs the runtime
# libraries an image redistributes: kept next to the tree as licenses/NVIDIA-CUDA-License.txt.
keep_licence() {
  mkdir -p "$top/licenses"
  unzip -p "$(ls "$dl"/nvidia_cuda_runtime-*.whl | head -1)" '*.dist-info/licenses/License.txt' \
    > "$top/licenses/NVIDIA-CUDA-License.txt"
}
if [ $wheels_only = 0 ] && [ -f "$top/.complete" ]; then
  [ -s "$top/licenses/NVIDIA-CUDA-License.txt" ] || keep_licence
  echo "$root"; exit 0
fi

# Fetch: by package name, through pip, with the hashes required.
mkdir -p "$dl"
req=$dl/requirements.txt
echo "$WHEELS" | while read -r name version sha; do
  if [ -n "$name" ]; then echo "$name==$version --hash=sha256:$sha"; fi
done > "$req"
pip=(python3 -m pip)
if ! python3 -m pip --version >/dev/null 2>&1; then
  venv=$cache/venv-fetch
  [ -x "$venv/bin/pip" ] || { log "creating $venv"; python3 -m venv "$venv" >&2; }
  pip=("$venv/bin/pip")
fi
have_all() {
  local name version sha f
  while read -r name version sha; do
    [ -n "$name" ] || continue
    f=$(ls "$dl"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -1)
    [ -n "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ] || return 1
  done <<< "$WHEELS"
}
if ! have_all; then
  log "fetching the CUDA $CUDA_VERSION wheels (about 530 MB)"
  "${pip[@]}" download -q --no-deps --only-binary :all: --require-hashes -d "$dl" -r "$req" >&2
  have_all || { log "a wheel under $dl is missing or fails its sha256"; exit 1; }
fi
if [ $wheels_only = 1 ]; then echo "$dl"; exit 0; fi

# Unpack into one tree; a half-finished unpack is redone.
command -v unzip >/dev/null || { log "needs unzip (apt-get install unzip)"; exit 1; }
rm -rf "$top"; mkdir -p "$top"
for f in "$dl"/*.whl; do unzip -q -o "$f" -d "$top"; done
rm -rf "$top"/*.dist-info
keep_licence
chmod +x "$root"/bin/* "$root"/nvvm/bin/*
for lib in cudart cublas cublasLt; do
  so=$(cd "$root/lib" && ls "lib$lib.so."* | sort | head -1)
  ln -sf "$so" "$root/lib/lib$lib.so"
done
# nvcc.profile links against lib64; the wheels put the libraries in lib.
ln -sfn lib "$root/lib64"
"$root/bin/nvcc" --version >&2
touch "$top/.complete"
echo "$root"
