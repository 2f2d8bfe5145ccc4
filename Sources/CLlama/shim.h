// The engine's C API, as installed by scripts/bootstrap-engine.sh. Only LlamaEngine imports it.
#pragma once
#include <llama.h>
#include <gguf.h>
#include <ggml-backend.h>
#include <ggml-rpc.h>
