# Corral: `make run` serves the default model; `make test` runs every test.
# Both install what they need (apt packages, the pinned engine, the model) into caches
# outside the repository, and reuse them on the next run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CORRAL_CACHE ?= $(HOME)/.cache/corral
export CORRAL_CACHE
ENGINE_VERSION := 0.3.36
ENGINE ?= $(CORRAL_CACHE)/engine/$(ENGINE_VERSION)-cpu
MODEL := $(CORRAL_CACHE)/models/SmolLM2-135M-Instruct.Q4_1.gguf
DECI_MODEL := $(CORRAL_CACHE)/models/tiny-deci.gguf
LORA_DIR := $(CORRAL_CACHE)/models/smollm2-test-loras
PYENV := $(CORRAL_CACHE)/venv-test

# SwiftPM finds the engine through pkg-config; binaries find it through an rpath.
export PKG_CONFIG_PATH := $(ENGINE)/lib/pkgconfig
SWIFT_FLAGS := -Xlinker -rpath -Xlinker $(ENGINE)/lib
CONFIG ?= release
BIN := .build/$(CONFIG)/corral

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help build-deps engine engine-tools engine-cuda model deci-model lora-adapters pyenv test-tools build run test bench-scheduler bench-compare bench-structured bench-speculation bench-lora bench-host bench-routed image-test image-test-cuda clean

help:
	@echo "make run               serve SmolLM2-135M-Instruct on http://$(HOST):$(PORT) (CPU)"
	@echo "make test              build everything and run all tests"
	@echo "make build             build corral (release) against the cached engine"
	@echo "make engine            build the pinned llama.cpp (CPU) into the cache"
	@echo "make engine-tools      also build llama-server and llama-batched-bench"
	@echo "make engine-cuda       build the pinned llama.cpp with CUDA (sm_$(CUDA_ARCHS), and its tools) into the cache; no GPU or nvcc needed"
	@echo "make model             fetch the default model into the cache"
	@echo "make deci-model        make the tiny random deci model for tests"
	@echo "make lora-adapters     make random LoRA adapters for the default model, for tests"
	@echo "make pyenv             the Python packages the tests use"
	@echo "make test-tools        test tools (Prometheus) into the cache"
	@echo "make bench-scheduler   benchmark the scheduler on the simulated engine"
	@echo "make bench-compare     benchmark Corral against llama-server (same engine)"
	@echo "make bench-structured  benchmark structured output against free text"
	@echo "make bench-speculation benchmark speculative decoding against off (repeat-heavy and random loads)"
	@echo "make bench-lora        benchmark 4 and 16 LoRA adapters in equal shares against the base model"
	@echo "make bench-host        host µs per sequence-step and decode rate vs llama-batched-bench (tiny deci, 128k vocab)"
	@echo "make bench-routed      three replicas behind vllm-router: cache_aware vs round_robin on multi-turn chat"
	@echo "make image-test        build and run the cpu container image (root; about 30 minutes cold)"
	@echo "make image-test-cuda   build the cuda image from engine-cuda, run it without a GPU (root)"
	@echo "make clean             remove .build"

# Always asks the bootstrap, which only checks its stamp when nothing changed: the stamp holds
# the patch series' hash, so an edited patch in patches/llama.cpp rebuilds the engine.
engine:
	scripts/bootstrap-engine.sh >/dev/null

# llama-server and llama-batched-bench from the same source, for peer benchmarks.
engine-tools:
	scripts/bootstrap-engine.sh --tools

# The CUDA engine, its tools, for CUDA_ARCHS (default 90-real: Hopper machine code only, for
# the GPU checker's H100 and H200; no PTX, so no JIT on newer GPUs, but half the library, and
# scripts/gpu-carry.sh must fit 64 MiB). Without nvcc, the CUDA 13.0 toolkit comes from pip
# wheels into the cache. Portable (no -march=native): scripts/gpu-carry.sh ships it to a
# machine with another CPU. Not part of
# `make test`: a cold build took 64 minutes on the shared 2-core development machine (README,
# "CUDA without a GPU").
CUDA_ARCHS ?= 90-real
engine-cuda:
	CUDA_ARCHS="$(CUDA_ARCHS)" scripts/bootstrap-engine.sh --cuda --tools --portable

model: $(MODEL)
$(MODEL): models/SmolLM2-135M-Instruct.Q4_1.gguf.sha256
	scripts/fetch-model.sh

pyenv:
	scripts/python-env.sh $(PYENV) >/dev/null

# prometheus and promtool, for the metrics tests.
test-tools:
	scripts/test-tools.sh

deci-model: $(DECI_MODEL)
$(DECI_MODEL): scripts/make-tiny-deci.py | engine pyenv
	$(PYENV)/bin/python scripts/make-tiny-deci.py \
	  --llama-src "$$(scripts/bootstrap-engine.sh --source)" --out $@ --json $@.json

# Random LoRA adapters for the default model (two good ones, one for another architecture,
# one of rank 64), for the adapter tests and `corral bench --models`.
lora-adapters: $(LORA_DIR)/.complete
$(LORA_DIR)/.complete: scripts/make-test-lora.py | engine model pyenv
	mkdir -p $(LORA_DIR)
	for spec in "a --seed 1" "b --seed 2" "c --seed 3" "d --seed 4" "wrong-arch --seed 5 --arch qwen2" "rank64 --seed 6 --rank 64"; do \
	  set -- $$spec; name=$$1; shift; \
	  $(PYENV)/bin/python scripts/make-test-lora.py --llama-src "$$(scripts/bootstrap-engine.sh --source)" \
	    --base $(MODEL) --out $(LORA_DIR)/$$name.gguf "$$@" > /dev/null || exit 1; \
	done
	touch $@

# msgpack-c's headers and libzmq, through apt-get when missing.
build-deps:
	scripts/build-deps.sh

build: engine build-deps
	swift build -c $(CONFIG) $(SWIFT_FLAGS) --product corral

# The defaults go in as NIM_* variables, not flags (a flag wins over the environment), so a
# user's own NIM_SERVER_PORT, NIM_MODEL_NAME or NIM_CACHE_PATH wins over them.
run: build model
	NIM_CACHE_PATH="$(or $(NIM_CACHE_PATH),$(CORRAL_CACHE))" \
	NIM_SERVER_PORT="$(or $(NIM_SERVER_PORT),$(PORT))" \
	NIM_MODEL_NAME="$(or $(NIM_MODEL_NAME),SmolLM2-135M-Instruct)" \
	  $(BIN) serve --host $(HOST)

# Tests run one at a time: engine tests are CPU-bound, and llama.cpp's worker threads
# spin, so suites running side by side on two cores slow each other down many times over.
test: engine build-deps model pyenv deci-model lora-adapters test-tools
	swift build --build-tests $(SWIFT_FLAGS)
	CORRAL_TEST_MODEL=$(MODEL) CORRAL_TEST_DECI_MODEL=$(DECI_MODEL) CORRAL_TEST_LORA_DIR=$(LORA_DIR) \
	  swift test --skip-build --no-parallel $(SWIFT_FLAGS)
	CORRAL_TEST_MODEL=$(MODEL) CORRAL_BIN=.build/debug/corral CORRAL_TEST_LORA_DIR=$(LORA_DIR) \
	  $(PYENV)/bin/python -m pytest -q pytests

# A benchmark, not a test: prints Corral vs llama-batched-bench and the policy simulation.
bench-scheduler: build model
	scripts/bench-scheduler.sh

# A benchmark, not a test: Corral vs llama-server (same engine, model, threads, KV,
# sequences), written to docs/benchmarks/.
bench-compare: build model engine-tools
	scripts/bench-compare.sh

# A benchmark, not a test: output throughput with a nested json_schema ÷ the same requests
# unconstrained (equal output lengths), at c=8.
bench-structured: build model pyenv
	$(PYENV)/bin/python scripts/bench-structured.py --bin $(BIN) --model $(MODEL) --concurrency 8

# A benchmark, not a test: speculative decoding (the default) against NIM_SPECULATIVE_METHOD=off,
# on the repeat-heavy workload and the usual random-word load, written to docs/benchmarks/.
bench-speculation: build model
	scripts/bench-speculation.sh

# A benchmark, not a test: 4 and 16 LoRA adapters in equal shares at c=16 against the base
# model, with the adapter pool's gathered and masked graphs, written to docs/benchmarks/.
bench-lora: build model pyenv lora-adapters
	scripts/bench-lora.sh

# A benchmark, not a test: the host's time per sequence-step (everything on the engine
# thread outside the engine's call) at c=32, 64, 128, and the decode rate against
# llama-batched-bench, on the tiny 128k-vocabulary deci model: the CPU proxy for issue 27.
bench-host: build deci-model engine-tools
	scripts/bench-host.sh

# A benchmark, not a test: three replicas behind vllm-router (pip install vllm-router, into
# $(CORRAL_CACHE)/venv-router), cache_aware against round_robin on the multi-turn chat load:
# cached-token share and later-turn TTFT, written to docs/benchmarks/.
bench-routed: build model
	CORRAL_BIN=$(BIN) scripts/bench-routed.sh

# Not part of `make test` (a cold run takes about half an hour): builds the Dockerfile's cpu
# target with buildah from locally assembled base images, runs it, and checks readiness and
# one completion. Run as root.
image-test: model
	scripts/image-test.sh

# The Dockerfile's cuda target, its compile stages standing in as prebuilt images (the
# engine-cuda prefix, the release binary), run here without a GPU: it must stop saying "no
# GPU is visible", and serve on the CPU with NIM_GPU_LAYERS=0. Prints the image size. Root.
image-test-cuda: model engine-cuda
	scripts/image-test.sh --cuda

clean:
	rm -rf .build
