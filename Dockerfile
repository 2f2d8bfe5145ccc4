# syntax=docker/dockerfile:1
# Corral's container image, NIM style: corral serve on port 8000, the model cache at
# /opt/nim/.cache, a non-root user 1000.
#
#   docker build -t corral:0.1.0 .                  CUDA 13.0, GPUs from Ampere to Hopper
#   docker build --target cpu -t corral:0.1.0-cpu .  CPU only
#
# Both targets start from Debian: the CUDA toolkit comes from NVIDIA's pip wheels, pinned by
# version and sha256 (scripts/cuda-toolkit.sh), and the CUDA image carries only the runtime
# libraries the engine loads (cudart, cuBLAS, cuBLASLt), not the compiler. The driver's
# libcuda is mounted by the NVIDIA container runtime (docker run --gpus all). Without a GPU
# the CUDA image stops, saying that no GPU is visible, unless NIM_GPU_LAYERS=0 asks for the
# CPU (README, "CUDA without a GPU").
#
# Every build step runs a script of this repository, the same ones `make` runs:
#   engine  scripts/bootstrap-engine.sh  (the pinned llama.cpp from the llama-cpp-python==0.3.36
#           sdist, fetched by package name and checked by sha256; --cuda for GGML_CUDA=ON)
#   swift   scripts/build-release.sh     (release, --static-swift-stdlib, rpath $ORIGIN/../lib)
#   layout  scripts/stage-image.sh       (/opt/nim/{bin,lib,licenses,.cache})
# The binary is linked against the CPU engine and finds whichever engine the image carries
# in /opt/nim/lib: the libraries have the same sonames and API (scripts/gpu-check.sh runs
# such a binary on the CUDA engine).

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG DEBIAN_IMAGE=debian:bookworm
# The stages the CUDA image copies its engine and binary from: by default built below; an
# image holding the same /stage/ tree may stand in for either (scripts/image-test.sh --cuda
# passes `make engine-cuda`'s prefix and a `scripts/build-release.sh` binary, staged by
# stage-image.sh, rather than compiling the CUDA engine a second time). Buildah 1.28 resolves
# a stage name here only when it is passed with --build-arg.
ARG ENGINE_CUDA_STAGE=engine-cuda
ARG CORRAL_STAGE=build
# OCI labels of both runtime images. VERSION is Corral's release, the chart's appVersion;
# REVISION (the commit) and SOURCE (the repository's URL) come from the build, e.g.
#   --build-arg REVISION=$(git rev-parse HEAD) --build-arg SOURCE=https://example.com/corral
# LICENSES is an SPDX expression: Corral's own licence and the engine's (llama.cpp, MIT).
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG LICENSES="Apache-2.0 AND MIT"

# ---- engine, CPU: also the engine the Swift build links against ----
FROM ${DEBIAN_IMAGE} AS engine-cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# DL3008: the build tools track Debian's stable archive, whose versions move with security
# updates; the engine itself is pinned and sha256-checked by bootstrap-engine.sh.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates cmake g++ ninja-build patch pkg-config \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/bootstrap-engine.sh scripts/stage-image.sh scripts/
COPY patches patches
ENV CORRAL_CACHE=/build
# --portable: no -march=native, so the image runs on CPUs other than the build machine's.
RUN engine=$(scripts/bootstrap-engine.sh --portable) \
 && scripts/stage-image.sh /stage --engine "$engine" \
      --engine-src "$(scripts/bootstrap-engine.sh --source)"

# ---- engine, CUDA ----
# The same bootstrap script and engine flags as `make engine-cuda` (which adds the tools and
# builds sm_90 only) and scripts/gpu-check.sh; with no nvcc here, --cuda installs the pinned
# CUDA 13.0 toolkit from pip wheels first. No GPU is needed to build. --portable drops
# -march=native.
FROM ${DEBIAN_IMAGE} AS engine-cuda
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# DL3008: as in engine-cpu, the archive's current versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates cmake g++ ninja-build patch pkg-config \
      python3 python3-venv unzip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/bootstrap-engine.sh scripts/cuda-toolkit.sh scripts/stage-image.sh scripts/
COPY patches patches
ENV CORRAL_CACHE=/build
# Ampere (80, 86), Ada (89) and Hopper (90).
ARG CUDA_ARCHS="80;86;89;90"
RUN engine=$(CUDA_ARCHS="${CUDA_ARCHS}" scripts/bootstrap-engine.sh --cuda --portable) \
 && scripts/stage-image.sh /stage --engine "$engine" \
      --engine-src "$(scripts/bootstrap-engine.sh --source)" --cuda-runtime "$(scripts/cuda-toolkit.sh)"

# ---- corral: the Swift build ----
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The design card's build libraries (libssl-dev, libz-dev as Debian's zlib1g-dev) and
# msgpack-c's headers (the KV events' packer, header-only); their runtime libraries are in
# the final images. DL3008: as in engine-cpu.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev zlib1g-dev libmsgpack-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY --from=engine-cpu /build/engine /build/engine
# Sources/CorralServer/openapi.yaml links to ../../openapi.yaml, the OpenAPI generator's
# input. Package.swift matches, so the licence patterns may match nothing.
COPY Package.swift openapi.yaml LICENSE* NOTICE* ./
COPY Sources Sources
# Package.swift declares the test targets too, and SwiftPM will not load a package whose
# target directories are missing, even to build one product; they are not built here.
COPY Tests Tests
COPY scripts/build-release.sh scripts/stage-image.sh scripts/
ENV CORRAL_CACHE=/build
RUN binary=$(scripts/build-release.sh /build/engine/0.3.36-cpu) \
 && strip "$binary" \
 && scripts/stage-image.sh /stage --binary "$binary"

# ---- runtime, CPU ----
FROM ${DEBIAN_IMAGE}-slim AS cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG VERSION
ARG REVISION
ARG SOURCE
ARG LICENSES
LABEL org.opencontainers.image.title="corral" \
      org.opencontainers.image.description="Corral: OpenAI-compatible, NIM-style LLM inference server on llama.cpp (CPU)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}"
# libgomp1: the engine's CPU backend uses OpenMP. curl: the helm test and MTLS probes.
# libzmq5: the KV events' sockets (loaded only with NIM_KV_EVENTS_ENDPOINT).
# DL3008: the runtime libraries get Debian's security updates at each build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libgomp1 libssl3 libstdc++6 libzmq5 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=engine-cpu /stage/ /
COPY --from=build /stage/ /
# PATH first: the check below runs corral by name, as the entrypoint does.
ENV PATH=/opt/nim/bin:${PATH} \
    NIM_CACHE_PATH=/opt/nim/.cache \
    NIM_SERVER_PORT=8000
RUN ldconfig \
 && groupadd --gid 1000 nim \
 && useradd --uid 1000 --gid 1000 --home-dir /opt/nim --no-create-home --shell /usr/sbin/nologin nim \
 && chown -R 1000:1000 /opt/nim/.cache \
 && corral serve --help > /dev/null
WORKDIR /opt/nim
VOLUME ["/opt/nim/.cache"]
USER 1000:1000
EXPOSE 8000
ENTRYPOINT ["corral", "serve"]

# ---- what the CUDA image copies: built above, or prebuilt (ENGINE_CUDA_STAGE, CORRAL_STAGE) ----
FROM ${ENGINE_CUDA_STAGE} AS engine-cuda-staged
FROM ${CORRAL_STAGE} AS corral-staged

# ---- runtime, CUDA (the default target) ----
FROM ${DEBIAN_IMAGE}-slim AS cuda
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG VERSION
ARG REVISION
ARG SOURCE
ARG LICENSES
LABEL org.opencontainers.image.title="corral" \
      org.opencontainers.image.description="Corral: OpenAI-compatible, NIM-style LLM inference server on llama.cpp (CUDA)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}"
# The cpu image's runtime libraries. DL3008: as in cpu.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libgomp1 libssl3 libstdc++6 libzmq5 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=engine-cuda-staged /stage/ /
COPY --from=corral-staged /stage/ /
# NVIDIA_*: what the NVIDIA container runtime reads to mount the driver (compute: libcuda),
# as NVIDIA's own images set them. PATH first: the check below runs corral by name. The
# CUDA libraries load without a driver (cudart opens libcuda only when asked), so `--help`
# runs here as in the cpu image.
ENV PATH=/opt/nim/bin:${PATH} \
    NIM_CACHE_PATH=/opt/nim/.cache \
    NIM_SERVER_PORT=8000 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN ldconfig \
 && groupadd --gid 1000 nim \
 && useradd --uid 1000 --gid 1000 --home-dir /opt/nim --no-create-home --shell /usr/sbin/nologin nim \
 && chown -R 1000:1000 /opt/nim/.cache \
 && corral serve --help > /dev/null
WORKDIR /opt/nim
VOLUME ["/opt/nim/.cache"]
USER 1000:1000
EXPOSE 8000
ENTRYPOINT ["corral", "serve"]
