#!/usr/bin/env bash
# Builds the release `corral` binary the container image ships: the Swift runtime linked
# statically (--static-swift-stdlib), the engine found at run time in ../lib next to the
# binary's bin/ (the image's /opt/nim/lib), as scripts/gpu-carry.sh does for the GPU check.
# Prints the binary's path.
#
#   scripts/build-release.sh [ENGINE_PREFIX]
#
# ENGINE_PREFIX: an installed engine (default: the CPU build of scripts/bootstrap-engine.sh).
# The binary links against the engine's libraries by soname only, so a binary built against
# the CPU engine runs on the CUDA engine's libraries of the same version.
# Environment: SCRATCH (SwiftPM's build folder, default .build).
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:-$(scripts/bootstrap-engine.sh)}
scratch=${SCRATCH:-.build}
PKG_CONFIG_PATH=$engine/lib/pkgconfig swift build -c release --static-swift-stdlib \
  --scratch-path "$scratch" --product corral -Xlinker -rpath -Xlinker '$ORIGIN/../lib' >&2
echo "$scratch/release/corral"
