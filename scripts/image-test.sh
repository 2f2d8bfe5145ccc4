#!/usr/bin/env bash
# Builds the Dockerfile's `cpu` target (or, with --cuda, its `cuda` target) with buildah, runs
# the image, and checks it. A benchmark-style command (`make image-test`, `make
# image-test-cuda`, run as root), not part of `make test`.
#
#   scripts/image-test.sh          cpu: checks /v1/health/ready and one completion from the
#                                  model cache. A cold run builds the engine and Corral from
#                                  scratch inside the image build, about half an hour on 2 cores.
#   scripts/image-test.sh --cuda   cuda: the same Dockerfile target a GPU build uses, with the
#                                  two compile stages standing in as prebuilt images: `make
#                                  engine-cuda`'s prefix (with the CUDA runtime libraries from
#                                  the same pip wheels) and the release binary of
#                                  scripts/build-release.sh (SCRATCH=.build-static, the one
#                                  scripts/gpu-carry.sh ships), each laid out by stage-image.sh.
#                                  The CUDA engine is not compiled a second time. Then, on this
#                                  machine without a GPU: the image must stop with a non-zero
#                                  status saying "no GPU is visible", and with NIM_GPU_LAYERS=0
#                                  it must say so and serve a completion on the CPU. Prints the
#                                  image size.
#
# No registry is reachable, so the base images the Dockerfile names are assembled here and
# passed as build args:
#   debian   debootstrap of bookworm from this machine's apt sources, with its CA
#            certificates and pip settings (so apt-get and pip inside the build reach the
#            same mirrors); tagged as both DEBIAN_IMAGE and DEBIAN_IMAGE-slim
#   swift    that rootfs plus this machine's Swift toolchain (/opt/swift) and its package
#            mirror (/opt/swift-packages, reached through git's insteadOf, as here); cpu only
# The image then runs with podman when podman can run containers here, and otherwise by
# starting its entrypoint in a chroot of the image's root filesystem as its user, 1000.
#
# Environment: CORRAL_CACHE (base rootfs and logs under $CORRAL_CACHE/image-test),
# MODEL (default: the SmolLM2 GGUF that make model fetches), CUDA_ARCHS (--cuda; default 90,
# as `make engine-cuda`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "image-test: run as root (buildah --isolation chroot)" >&2; exit 2; }
target=cpu
case "${1:-}" in
  --cuda) target=cuda ;;
  "") ;;
  *) echo "image-test: unknown option $1" >&2; exit 2 ;;
esac
cache=${CORRAL_CACHE:-$HOME/.cache/corral}
work=$cache/image-test
model=${MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}
base=localhost/corral-base
image=localhost/corral:image-test-$target
mkdir -p "$work"
t0=$(date +%s)
step() { echo "image-test: [$(( $(date +%s) - t0 )) s] $*" >&2; }

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v podman >/dev/null || need+=(podman)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]} with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
[ -f "$model" ] || { echo "image-test: no model at $model (make model)" >&2; exit 1; }

# ---- base images ----
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
rootfs=$work/rootfs-bookworm
if [ ! -f "$rootfs/.complete" ]; then
  step "debootstrap bookworm from $mirror"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1
  # This machine's apt sources, CA certificates (kept by update-ca-certificates in the
  # build's own apt-get runs) and pip settings, so the build reaches the same mirrors.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$rootfs/etc/apt/"
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  mkdir -p "$rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$rootfs/etc/pip.conf"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  touch "$rootfs/.complete"
fi
import_rootfs() {  # DIR TAG...: a FROM-scratch image holding DIR
  local ctr mnt; ctr=$(buildah from scratch); mnt=$(buildah mount "$ctr")
  tar -C "$1" --exclude=./.complete -cf - . | tar -C "$mnt" -xf -
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit -q "$ctr" "$2" >/dev/null; buildah rm "$ctr" >/dev/null
  shift 2; for t in "$@"; do buildah tag "$base/debian:bookworm" "$t"; done
}
if ! buildah inspect "$base/debian:bookworm" >/dev/null 2>&1; then
  step "importing the rootfs as $base/debian:bookworm and :bookworm-slim"
  import_rootfs "$rootfs" "$base/debian:bookworm" "$base/debian:bookworm-slim"
fi
if [ $target = cpu ] && ! buildah inspect "$base/swift:6.3-bookworm" >/dev/null 2>&1; then
  step "assembling $base/swift:6.3-bookworm from /opt/swift"
  ctr=$(buildah from "$base/debian:bookworm")
  # What the Swift toolchain needs at build time on Debian, as the official image installs.
  buildah run --isolation chroot "$ctr" -- bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends binutils ca-certificates git gnupg2 libc6-dev \
      libcurl4-openssl-dev libedit2 libgcc-12-dev libncurses-dev libncurses6 libpython3.11 libsqlite3-0 \
      libstdc++-12-dev libxml2-dev libz3-dev pkg-config tzdata unzip zlib1g-dev >/dev/null && rm -rf /var/lib/apt/lists/*' >&2
  mnt=$(buildah mount "$ctr")
  mkdir -p "$mnt/opt"
  cp -a /opt/swift "$mnt/opt/swift"
  cp -a /opt/swift-packages "$mnt/opt/swift-packages"
  git config --system --list >/dev/null 2>&1 && cp /etc/gitconfig "$mnt/etc/gitconfig"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit -q "$ctr" "$base/swift:6.3-bookworm" >/dev/null; buildah rm "$ctr" >/dev/null
fi

# ---- the cuda target's compile stages, prebuilt here ----
stage_image() {  # TAG stage-image.sh options...: a FROM-scratch image holding /stage/
  local tag=$1 ctr mnt; shift
  ctr=$(buildah from scratch); mnt=$(buildah mount "$ctr")
  scripts/stage-image.sh "$mnt/stage" "$@" >/dev/null
  buildah umount "$ctr" >/dev/null; buildah commit -q "$ctr" "$tag" >/dev/null; buildah rm "$ctr" >/dev/null
}
if [ $target = cpu ]; then
  build_args=(--target cpu --build-arg SWIFT_IMAGE="$base/swift:6.3-bookworm")
else
  step "the CUDA engine (make engine-cuda) and the release binary (build-release.sh)"
  engine=$(CUDA_ARCHS=${CUDA_ARCHS:-90} scripts/bootstrap-engine.sh --cuda --tools --portable)
  binary=$(SCRATCH=.build-static scripts/build-release.sh 2>"$work/swift-build.log") \
    || { tail -20 "$work/swift-build.log" >&2; exit 1; }
  stage_image "$base/engine-cuda:prebuilt" --engine "$engine" \
    --engine-src "$(scripts/bootstrap-engine.sh --source)" --cuda-runtime "$(scripts/cuda-toolkit.sh)"
  stage_image "$base/corral:prebuilt" --binary "$binary"
  build_args=(--target cuda --build-arg ENGINE_CUDA_STAGE="$base/engine-cuda:prebuilt"
    --build-arg CORRAL_STAGE="$base/corral:prebuilt")
fi

# ---- the real Dockerfile's target ----
step "buildah build --target $target (log: $work/build-$target.log)"
build_start=$(date +%s)
# Docker's image format: the OCI format has no SHELL, and the Dockerfile's RUN steps rely on
# its `bash -o pipefail`.
if ! buildah build --isolation chroot --format docker --layers "${build_args[@]}" \
    --build-arg DEBIAN_IMAGE="$base/debian:bookworm" \
    --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$image" . >"$work/build-$target.log" 2>&1; then
  tail -40 "$work/build-$target.log" >&2; echo "image-test: the image build failed" >&2; exit 1
fi
step "built $image in $(( $(date +%s) - build_start )) s"
buildah inspect --format '{{range $k, $v := .OCIv1.Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' "$image" >&2
step "image size: $(buildah images --format '{{.Size}}' "$image" | head -1)"
if [ $target = cuda ]; then
  ctr=$(buildah from "$image"); mnt=$(buildah mount "$ctr")
  step "/opt/nim/lib: $(cd "$mnt/opt/nim/lib" && du -ch -- * | tail -1 | cut -f1) in $(ls "$mnt/opt/nim/lib" | tr '\n' ' ')"
  if find "$mnt" -xdev \( -name nvcc -o -name cicc -o -name 'libnvvm*' -o -name 'libcudart_static.a' \) | grep -q .; then
    echo "image-test: the cuda image carries the CUDA compiler" >&2; exit 1
  fi
  buildah umount "$ctr" >/dev/null; buildah rm "$ctr" >/dev/null
fi

# ---- run it ----
cachedir=$work/nim-cache; rm -rf "$cachedir"; mkdir -p "$cachedir"
cp "$model" "$cachedir/model.gguf"; chown -R 1000:1000 "$cachedir"
# start NAME ENV...: runs the image in the background, its output in $work/NAME.log; sets how
# (podman or a chroot), pid (a process that lives as long as the container) and stop.
start() {
  local name=$1; shift
  log=$work/$name.log
  podman rm -f "corral-$name" >/dev/null 2>&1 || true
  if podman run -d --name "corral-$name" --network host -v "$cachedir:/opt/nim/.cache" \
       $(printf -- '-e %s ' "$@") "$image" >"$log" 2>&1; then
    how="podman run"
    podman logs -f "corral-$name" >"$log" 2>&1 &
    pid=$!
    stop=(podman rm -f "corral-$name")
  else
    step "podman could not run it here ($(tail -1 "$log")); running the entrypoint in a chroot instead"
    ctr=$(buildah from "$image"); mnt=$(buildah mount "$ctr")
    mount --bind "$cachedir" "$mnt/opt/nim/.cache"
    mount -t proc proc "$mnt/proc"
    # The image's own environment, user and entrypoint.
    mapfile -t image_env < <(buildah inspect --format '{{range .OCIv1.Config.Env}}{{.}}{{"\n"}}{{end}}' "$image")
    user=$(buildah inspect --format '{{.OCIv1.Config.User}}' "$image")
    entry=$(buildah inspect --format '{{range .OCIv1.Config.Entrypoint}}{{.}} {{end}}' "$image")
    env -i "${image_env[@]}" "$@" HOME=/opt/nim \
      chroot --userspec="$user" "$mnt" /bin/bash -c "cd /opt/nim && exec $entry" >"$log" 2>&1 &
    pid=$!
    how="chroot as $user"
    stop=(cleanup_chroot "$pid" "$mnt" "$ctr")
  fi
  trap '"${stop[@]}" >/dev/null 2>&1 || true' EXIT
  step "started $name with $how"
}
cleanup_chroot() {  # pid mnt ctr
  kill "$1" 2>/dev/null; wait "$1" 2>/dev/null || true
  umount "$2/proc" "$2/opt/nim/.cache" 2>/dev/null || true; buildah umount "$3" >/dev/null; buildah rm "$3" >/dev/null
}
# status NAME: the exit status of a container that has stopped.
status() {
  if [ "$how" = "podman run" ]; then podman wait "corral-$1"; else wait "$pid"; echo $?; fi
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env_args=(NIM_MODEL_NAME=/opt/nim/.cache/model.gguf NIM_SERVED_MODEL_NAME=smollm2 NIM_SERVER_PORT="$port")

if [ $target = cuda ]; then
  # Without a GPU and without NIM_GPU_LAYERS=0 the image must stop, saying why.
  start no-gpu "${env_args[@]}"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then
    tail -20 "$log" >&2; echo "image-test: the cuda image kept running without a GPU" >&2; exit 1
  fi
  code=$(status no-gpu); "${stop[@]}" >/dev/null 2>&1 || true
  grep -q "no GPU is visible" "$log" && [ "$code" != 0 ] \
    || { cat "$log" >&2; echo "image-test: want a non-zero exit saying 'no GPU is visible', got $code" >&2; exit 1; }
  step "without a GPU it stopped with status $code, saying: $(grep -m1 'no GPU is visible' "$log")"
  env_args+=(NIM_GPU_LAYERS=0)
fi

start serve "${env_args[@]}"
url=http://127.0.0.1:$port
for _ in $(seq 1 300); do
  curl -fs "$url/v1/health/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
curl -fs "$url/v1/health/ready" >/dev/null || { tail -20 "$log" >&2; echo "image-test: never ready" >&2; exit 1; }
step "ready"
if [ $target = cuda ]; then
  grep -q "no GPU is visible.*serving on the CPU" "$log" \
    || { cat "$log" >&2; echo "image-test: NIM_GPU_LAYERS=0 without a GPU must say it serves on the CPU" >&2; exit 1; }
  step "with NIM_GPU_LAYERS=0 it says: $(grep -m1 'no GPU is visible' "$log")"
fi
reply=$(curl -fs "$url/v1/completions" -H 'content-type: application/json' \
  -d '{"model": "smollm2", "prompt": "The capital of France is", "max_tokens": 8, "temperature": 0}')
echo "$reply" | python3 -c 'import json, sys; r = json.load(sys.stdin); t = r["choices"][0]["text"]; \
  assert r["usage"]["completion_tokens"] > 0 and t, r; print("image-test: completion:", repr(t))'
step "done: $image built with buildah and served a completion ($how)"
