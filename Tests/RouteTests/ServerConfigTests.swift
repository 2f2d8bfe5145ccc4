import CorralServer
import Testing

/// The configuration's defaults and its validation live in the library, not the executable.
@Suite("Server configuration")
struct ServerConfigTests {
    @Test func theDefaultsAreTheTable() throws {
        let c = ServerConfig()
        #expect(c.port == ServeDefaults.port && c.model == ServeDefaults.model && c.cachePath == ServeDefaults.cachePath)
        // Sizes the engine works out from the device and its memory start unset.
        #expect(c.kvCapacity == nil && c.maxBatchTokens == nil && c.maxRunningSequences == nil && c.maxModelLength == 0)
        #expect(c.maxWaitingRequests == ServeDefaults.maxQueueRequests)
        #expect(c.maxWaitingTokens == ServeDefaults.maxQueueTokens && c.gpuLayers == ServeDefaults.gpuLayers)
        #expect(c.maxBodyBytes == ServeDefaults.maxRequestBytes && c.maxHeaderBytes == ServeDefaults.maxHeaderBytes)
        #expect(c.drainGrace == Double(ServeDefaults.drainGraceSeconds))
        #expect(c.idleTimeout == Double(ServeDefaults.httpIdleTimeoutSeconds))
        #expect(c.policy == ServeDefaults.schedulerPolicy && c.kvLayout == ServeDefaults.kvLayout)
        try c.validate()
    }

    @Test func loraAdaptersLeaveTheAutoLayoutPartitioned() {
        var c = ServerConfig()
        #expect(!c.unifiedKV)
        c.lora = LoRASettings(source: "/loras")
        #expect(!c.unifiedKV, "a step mixes adapters: one pass, packed slots")
        c.kvLayout = .partitioned
        #expect(!c.unifiedKV, "an explicit layout wins")
        c.kvLayout = .unified
        #expect(c.unifiedKV, "an explicit layout wins")
    }

    @Test(arguments: ["NIM_SERVER_PORT", "NIM_KV_CACHE_TOKENS", "NIM_MAX_NUM_SEQS", "NIM_MAX_REQUEST_BYTES",
                      "NIM_MAX_HEADER_BYTES", "NIM_QUEUE_TIMEOUT_SECONDS", "NIM_KV_CACHE_PERCENT"])
    func anImpossibleValueIsRefusedNamingItsSetting(setting: String) {
        var c = ServerConfig()
        switch setting {
        case "NIM_SERVER_PORT": c.port = 70000
        case "NIM_KV_CACHE_TOKENS": c.kvCapacity = 8
        case "NIM_MAX_NUM_SEQS": c.maxRunningSequences = 0
        case "NIM_MAX_REQUEST_BYTES": c.maxBodyBytes = 10
        case "NIM_MAX_HEADER_BYTES": c.maxHeaderBytes = 10
        case "NIM_QUEUE_TIMEOUT_SECONDS": c.queueTimeout = -1
        default: c.kvCachePercent = 2
        }
        #expect(throws: ServerConfig.Invalid.self) { try c.validate() }
        do { try c.validate() } catch { #expect(error.description.contains(setting)) }
    }
}
