import CorralServer
import Testing

/// The engine's sizes from the settings and the device's memory: the defaults an operator
/// gets with no flags, and the errors for sizes that cannot be honoured.
@Suite("KV sizing plan")
struct KVSizingPlanTests {
    static let gib = 1 << 30
    /// SmolLM2-135M: 23,040 KV bytes per token, trained on 8192.
    static let smol = (bytesPerToken: 23_040, context: 8192)
    static let cpu = KVSizing.Memory(onGPU: false, freeBytes: 20 * gib, totalBytes: 20 * gib, source: "system")
    static let h200 = KVSizing.Memory(onGPU: true, freeBytes: 138 * gib, totalBytes: 140 * gib, source: "gpu")

    @Test func withNoFlagsACPUServesTheTrainedContextToEverySequence() throws {
        let s = try KVSizing.plan(ServerConfig(), memory: Self.cpu, bytesPerToken: Self.smol.bytesPerToken,
                                  trainedContext: Self.smol.context)
        #expect(s.maxNumSeqs == ServeDefaults.maxNumSeqsCPU && s.maxBatchTokens == ServeDefaults.maxBatchTokensCPU)
        #expect(s.maxModelLen == 8192 && s.tokens == 16 * 8192 && s.mode == "host_memory")
        #expect(s.reasons["max_model_len"] == "the model's trained context")
        #expect(s.reasons["kv_tokens"]?.contains("16 sequences x 8192 tokens") == true)
    }

    @Test func aGPUGetsItsOwnDefaultsAndvLLMsShareOfItsMemory() throws {
        // Llama-3.2-1B shape: 32 KiB per token, trained on 131072: memory, not the
        // context, bounds the cache, and max_model_len is capped with the reason.
        let s = try KVSizing.plan(ServerConfig(), memory: Self.h200, bytesPerToken: 32768, trainedContext: 131_072)
        #expect(s.maxNumSeqs == ServeDefaults.maxNumSeqsGPU && s.maxBatchTokens == ServeDefaults.maxBatchTokensGPU)
        #expect(s.mode == "gpu_memory_utilization" && s.device == "gpu")
        let budget = Int(Double(140 * Self.gib) * 0.9) - 2 * Self.gib - ServeDefaults.gpuReserveBytes
        #expect(s.tokens <= budget / 32768 && s.tokens > budget / 32768 - 256 * 64)
        #expect(s.maxModelLen == s.tokens / 64 && s.maxModelLen < 131_072)
        #expect(s.reasons["max_model_len"]?.contains("capped from the trained 131072") == true)
    }

    @Test func littleMemoryCapsTheContextAndSaysWhy() throws {
        let small = KVSizing.Memory(onGPU: false, freeBytes: 2 * Self.gib, totalBytes: 2 * Self.gib, source: "cgroup")
        let s = try KVSizing.plan(ServerConfig(), memory: small, bytesPerToken: Self.smol.bytesPerToken,
                                  trainedContext: Self.smol.context)
        #expect(s.maxModelLen < 8192 && s.maxModelLen == s.tokens / 16 && s.tokens % (256 * 16) == 0)
        #expect(s.reasons["max_model_len"]?.contains("NIM_KV_CACHE_TOKENS") == true)
    }

    @Test func anExplicitLengthTheCacheCannotHoldIsAStartupError() {
        var c = ServerConfig(kvCapacity: 8192, maxRunningSequences: 4)
        c.maxModelLength = 4096  // 2048 per sequence
        #expect(throws: ServerConfig.Invalid.self) {
            try KVSizing.plan(c, memory: Self.cpu, bytesPerToken: 100, trainedContext: 8192)
        }
        do { _ = try KVSizing.plan(c, memory: Self.cpu, bytesPerToken: 100, trainedContext: 8192) } catch {
            #expect(error.description.contains("NIM_MAX_MODEL_LEN=4096") && error.description.contains("2048 tokens per sequence"))
        }
        c.maxModelLength = 2048
        #expect((try? KVSizing.plan(c, memory: Self.cpu, bytesPerToken: 100, trainedContext: 8192))?.maxModelLen == 2048)
    }

    @Test func anExplicitLengthSizesTheCacheFromMemory() throws {
        var c = ServerConfig(maxRunningSequences: 2)
        c.maxModelLength = 1000
        let s = try KVSizing.plan(c, memory: Self.cpu, bytesPerToken: 100, trainedContext: 8192)
        #expect(s.tokens == 2 * 1024 && s.maxModelLen == 1000 && s.reasons["max_model_len"] == nil)
    }

    @Test func tooLittleMemoryForAnyCacheNamesTheSettings() {
        let tiny = KVSizing.Memory(onGPU: false, freeBytes: 1 << 20, totalBytes: 1 << 20, source: "cgroup")
        #expect(throws: ServerConfig.Invalid.self) {
            try KVSizing.plan(ServerConfig(), memory: tiny, bytesPerToken: Self.smol.bytesPerToken, trainedContext: 8192)
        }
    }

    @Test func hugeSettingsAreRefusedNamingTheSettingNotCrashing() {
        let c = ServerConfig(kvCapacity: 99_999_999_999)
        do { try c.validate(); Issue.record("accepted") } catch {
            #expect(error.description.contains("NIM_KV_CACHE_TOKENS=99999999999") && error.description.contains("--kv-cache-tokens"))
        }
        var d = ServerConfig(maxBatchTokens: 1 << 40)
        #expect(throws: ServerConfig.Invalid.self) { try d.validate() }
        d = ServerConfig(maxRunningSequences: 257)
        #expect(throws: ServerConfig.Invalid.self) { try d.validate() }
    }

    @Test func everySettingHasOneRowAndEveryNumberBounds() {
        let names = ServeSetting.all.map(\.name)
        #expect(Set(names).count == names.count && Set(ServeSetting.all.map(\.flag)).count == names.count)
        for row in ServeSetting.all where !row.isToggle && (Double(row.defaultText) != nil || row.defaultText == "auto") {
            // Names and lists, not numbers.
            if ["NIM_SERVED_MODEL_NAME", "NIM_KV_LAYOUT", "NIM_SPLIT_MODE", "NIM_TENSOR_SPLIT", "NIM_DEVICES",
                "NIM_MODEL_PROFILE", "NIM_KV_EVENTS_TOPIC"].contains(row.name) { continue }
            #expect(row.bounds != nil, "\(row.name) has no bounds")
        }
    }
}
