# syntax=docker/dockerfile:1
# Corral's container image, NIM style: corral serve on port 8000, the model cache at
# /opt/nim/.cache, a non-root user 1000.
#
#   docker build -t corral:0.1.0 .                  CUDA 12.8, GPUs from Ampere to Hopper
#   docker build --target cpu -t corral:0.1.0-cpu .  CPU only
#
# Every build step runs a script of this repository, the same ones `make` runs:
#   engine  scripts/bootstrap-engine.sh  (the pinned llama.cpp from the llama-cpp-python==0.3.36
#           sdist, fetched by package name and checked by sha256; --cuda for GGML_CUDA=ON)
#   swift   scripts/build-release.sh     (release, --static-swift-stdlib, rpath $ORIGIN/../lib)
#   layout  scripts/stage-image.sh       (/opt/nim/{bin,lib,licenses,.cache})
# The binary is linked against the CPU engine and finds whichever engine the image carries
# in /opt/nim/lib: the libraries have the same sonames and API (scripts/gpu-check.sh runs
# such a binary on the CUDA engine).

ARG CUDA_VERSION=12.8.1
ARG CUDA_UBUNTU=ubuntu24.04
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG DEBIAN_IMAGE=debian:bookworm
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
 && apt-get install -y --no-install-recommends ca-certificates cmake g++ ninja-build pkg-config \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/bootstrap-engine.sh scripts/stage-image.sh scripts/
ENV CORRAL_CACHE=/build
# --portable: no -march=native, so the image runs on CPUs other than the build machine's.
RUN engine=$(scripts/bootstrap-engine.sh --portable) \
 && scripts/stage-image.sh /stage --engine "$engine" \
      --engine-src "$(scripts/bootstrap-engine.sh --source)"

# ---- engine, CUDA ----
# Not buildable on the development machines (no CUDA toolchain; `make image-test` builds the
# cpu target). The recipe is the one scripts/gpu-check.sh runs on a GPU machine:
# scripts/bootstrap-engine.sh --cuda, the same script and engine flags; --tools there adds
# only the peer binaries, and --portable here only drops -march=native.
FROM nvidia/cuda:${CUDA_VERSION}-devel-${CUDA_UBUNTU} AS engine-cuda
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# DL3008: as in engine-cpu, the archive's current versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates cmake g++ ninja-build pkg-config \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/bootstrap-engine.sh scripts/stage-image.sh scripts/
ENV CORRAL_CACHE=/build
# Ampere (80, 86), Ada (89) and Hopper (90).
ARG CUDA_ARCHS="80;86;89;90"
RUN engine=$(CUDA_ARCHS="${CUDA_ARCHS}" scripts/bootstrap-engine.sh --cuda --portable) \
 && scripts/stage-image.sh /stage --engine "$engine" \
      --engine-src "$(scripts/bootstrap-engine.sh --source)"

# ---- corral: the Swift build ----
FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The design card's build libraries (libssl-dev, libz-dev as Debian's zlib1g-dev); their
# runtime libraries are in the final images. DL3008: as in engine-cpu.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev zlib1g-dev pkg-config \
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
# DL3008: the runtime libraries get Debian's security updates at each build.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libgomp1 libssl3 libstdc++6 zlib1g \
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

# ---- runtime, CUDA (the default target) ----
FROM nvidia/cuda:${CUDA_VERSION}-runtime-${CUDA_UBUNTU} AS cuda
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
# Ubuntu 24.04 names OpenSSL's library libssl3t64; curl brings it in. DL3008: as in cpu.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libgomp1 libstdc++6 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=engine-cuda /stage/ /
COPY --from=build /stage/ /
# Ubuntu's images come with a user "ubuntu" of uid 1000; NIM's user takes its place. No
# `corral --help` here: libggml-cuda needs the driver's libcuda, which only a GPU node mounts.
RUN ldconfig \
 && if id -u ubuntu > /dev/null 2>&1; then userdel ubuntu; fi \
 && if getent group ubuntu > /dev/null; then groupdel ubuntu; fi \
 && groupadd --gid 1000 nim \
 && useradd --uid 1000 --gid 1000 --home-dir /opt/nim --no-create-home --shell /usr/sbin/nologin nim \
 && chown -R 1000:1000 /opt/nim/.cache
ENV PATH=/opt/nim/bin:${PATH} \
    NIM_CACHE_PATH=/opt/nim/.cache \
    NIM_SERVER_PORT=8000
WORKDIR /opt/nim
VOLUME ["/opt/nim/.cache"]
USER 1000:1000
EXPOSE 8000
ENTRYPOINT ["corral", "serve"]
