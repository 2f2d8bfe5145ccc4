import CorralCore
import CorralServer
import Testing

/// The layout decision: what `auto` picks and why, what is refused before any weight
/// loads, and where llama.cpp's layer rule puts each block.
@Suite("Parallel layout")
struct ParallelLayoutTests {
    static let gib = 1 << 30

    /// A llama-shaped model: `layers` blocks of `blockGiB`, 8 KV heads of 128.
    static func llama(layers: Int = 80, blockGiB: Double = 1.6, arch: String = "llama",
                      heads: [Int]? = nil, kvHeads: [Int]? = nil) -> ParallelShape {
        let m = ModelMetadata(architecture: arch, name: nil, trainingContextLength: 131_072, embeddingLength: 8192,
                              layerCount: layers, vocabSize: 128_256, headCount: heads ?? Array(repeating: 64, count: layers),
                              headCountKV: kvHeads ?? Array(repeating: 8, count: layers),
                              feedForwardLength: Array(repeating: 28_672, count: layers), keyLength: 128, valueLength: 128,
                              chatTemplate: nil)
        let block = Int(blockGiB * Double(gib))
        return ParallelShape(metadata: m, layerBytes: Array(repeating: block, count: layers), outputBytes: 2 * gib,
                             weightBytes: block * layers + 4 * gib)
    }

    static func gpu(_ index: Int, freeGiB: Int = 79) -> ParallelLayout.Device {
        .init(name: "CUDA\(index)", description: "NVIDIA H100 80GB HBM3", kind: .gpu, freeBytes: freeGiB * gib, totalBytes: 80 * gib)
    }
    static let cpu = ParallelLayout.Device(name: "CPU", description: "host", kind: .cpu, freeBytes: 100 * gib, totalBytes: 128 * gib)

    func choose(_ s: ParallelSettings = .init(), _ shape: ParallelShape = llama(), _ devices: [ParallelLayout.Device],
                lora: Bool = false) throws(ServerConfig.Invalid) -> ParallelLayout {
        try ParallelLayout.choose(s, shape: shape, visible: devices + [Self.cpu], gpuLayers: -1, lora: lora, memoryShare: 0.9)
    }

    @Test func aModelThatFitsOneGPUStaysOnOne() throws {
        let layout = try choose(.init(), Self.llama(layers: 32, blockGiB: 0.4), [Self.gpu(0), Self.gpu(1)])
        #expect(layout.mode == .none && layout.devices.map(\.name) == ["CUDA0"])
        #expect(layout.reason.contains("fit CUDA0") && layout.profile == "llamacpp-cuda-tp1-pp1")
    }

    @Test func seventyBOnTwoH100sIsTensorParallel() throws {
        let layout = try choose(.init(), Self.llama(), [Self.gpu(0), Self.gpu(1)])
        #expect(layout.mode == .tensor && layout.devices.count == 2 && layout.profile == "llamacpp-cuda-tp2-pp1")
        #expect(layout.reason.contains("do not fit one device"))
    }

    @Test func autoFallsBackToLayersWhereTensorSplitIsRefused() throws {
        var kv = Array(repeating: 8, count: 80); kv[3] = 0
        let deci = Self.llama(arch: "deci", kvHeads: kv)
        let layout = try choose(.init(), deci, [Self.gpu(0), Self.gpu(1)])
        #expect(layout.mode == .layer && layout.reason.contains("layer 3 has 64 attention heads and no KV heads"))
        let denied = try choose(.init(), Self.llama(arch: "deepseek2"), [Self.gpu(0), Self.gpu(1)])
        #expect(denied.mode == .layer && denied.reason.contains("deepseek2"))
        let lora = try choose(.init(), Self.llama(), [Self.gpu(0), Self.gpu(1)], lora: true)
        #expect(lora.mode == .layer && lora.reason.contains("LoRA"))
    }

    @Test func anAttentionFreeDeciLayerIsFineUnderTensorSplit() throws {
        var heads = Array(repeating: 64, count: 80), kv = Array(repeating: 8, count: 80)
        heads[5] = 0; kv[5] = 0
        let layout = try choose(.init(splitMode: .tensor), Self.llama(arch: "deci", heads: heads, kvHeads: kv),
                                [Self.gpu(0), Self.gpu(1)])
        #expect(layout.mode == .tensor)
    }

    @Test func refusalsNameTheSettingAndTheReason() {
        var kv = Array(repeating: 8, count: 80); kv[7] = 0
        #expect(throws: ServerConfig.Invalid.self) {
            try choose(.init(splitMode: .tensor), Self.llama(arch: "deci", kvHeads: kv), [Self.gpu(0), Self.gpu(1)])
        }
        do {
            _ = try choose(.init(splitMode: .tensor), Self.llama(arch: "deci", kvHeads: kv), [Self.gpu(0), Self.gpu(1)])
        } catch { #expect(error.description.contains("NIM_SPLIT_MODE=tensor") && error.description.contains("layer 7")) }
        do {
            _ = try choose(.init(tensorParallel: 4), Self.llama(), [Self.gpu(0), Self.gpu(1)])
            Issue.record("TP4 on two GPUs was accepted")
        } catch { #expect(error.description == "NIM_TENSOR_PARALLEL_SIZE=4 asks for 4 devices, but the engine sees 2 (CUDA0, CUDA1)") }
        do {
            _ = try choose(.init(tensorParallel: 2, pipelineParallel: 2), Self.llama(), (0..<4).map { Self.gpu($0) })
            Issue.record("TP2xPP2 was accepted")
        } catch { #expect(error.description.contains("one way at a time")) }
        do {
            _ = try choose(.init(splitMode: .layer, tensorParallel: 2), Self.llama(), [Self.gpu(0), Self.gpu(1)])
            Issue.record("layer with TP2 was accepted")
        } catch { #expect(error.description.contains("contradicts")) }
        do {
            _ = try choose(.init(devices: ["CUDA7"]), Self.llama(), [Self.gpu(0)])
            Issue.record("an unknown device was accepted")
        } catch { #expect(error.description.contains("CUDA7") && error.description.contains("CUDA0, CPU")) }
        do {
            _ = try choose(.init(splitMode: .layer, tensorSplit: [1, 2, 3]), Self.llama(), [Self.gpu(0), Self.gpu(1)])
            Issue.record("three shares for two devices were accepted")
        } catch { #expect(error.description.contains("3 shares for 2 devices")) }
        do {
            _ = try choose(.init(splitMode: .tensor, tensorParallel: 2), Self.llama(), [Self.gpu(0), Self.gpu(1)], lora: true)
            Issue.record("tensor split with LoRA was accepted")
        } catch { #expect(error.description.contains("LoRA")) }
    }

    @Test func sizesPickDevicesInOrderAndProfilesNameThem() throws {
        let gpus = (0..<4).map { Self.gpu($0) }
        let pp = try choose(.init(pipelineParallel: 3), Self.llama(), gpus)
        #expect(pp.mode == .layer && pp.devices.map(\.name) == ["CUDA0", "CUDA1", "CUDA2"] && pp.profile == "llamacpp-cuda-tp1-pp3")
        let sizes = try ParallelSettings.profileSizes("llamacpp-cuda-tp2-pp1")
        #expect(sizes.tp == 2 && sizes.pp == 1)
        #expect(throws: ServerConfig.Invalid.self) { try ParallelSettings.profileSizes("vllm-bf16-tp2") }
    }

    @Test func noDevicesMeansTheCPUAndSplitsAskingForDevicesAreRefused() throws {
        #expect(try choose(.init(), Self.llama(), []) == .cpu)
        #expect(try choose(.init(tensorParallel: 1), Self.llama(), []) == .cpu)
        #expect(throws: ServerConfig.Invalid.self) { try choose(.init(splitMode: .layer), Self.llama(), []) }
    }

    /// llama.cpp's rule: with 20 of 31 layers offloaded (30 blocks and the output), blocks
    /// 0-10 stay on the CPU, and the rest go half and half by the shares.
    @Test func layerPlacementFollowsTheEngineRule() {
        let rpc = (0..<2).map { ParallelLayout.Device(name: "RPC\($0)", description: "127.0.0.1:5005\($0)", kind: .rpc,
                                                      freeBytes: 10 * Self.gib, totalBytes: 10 * Self.gib) }
        let layout = ParallelLayout(mode: .layer, devices: rpc, reason: "test")
        let owner = layout.deviceOfLayer(layerCount: 30, gpuLayers: 20, cpuFreeBytes: 0)
        #expect(owner.prefix(11).allSatisfy { $0 == nil })
        #expect(owner[11...20].allSatisfy { $0 == 0 } && owner[21...30].allSatisfy { $0 == 1 })
        let shape = Self.llama(layers: 30, blockGiB: 0.01)
        let parts = layout.placement(shape, gpuLayers: 20, kvCells: 4096, batchTokens: 256, cpu: Self.cpu)
        #expect(parts.map(\.name) == ["CPU", "RPC0", "RPC1"] && parts.map(\.layers) == [11, 10, 9])
        #expect(parts.map(\.output) == [false, false, true] && parts.allSatisfy { $0.kvCells == 4096 })
        #expect(parts[1].kvBytes == 10 * 4096 * 8 * 256 * 2 && parts[1].firstLayer == 11 && parts[1].lastLayer == 20)
        // Shares move the cut: 3 to 1 puts three quarters of the offloaded blocks first.
        let skewed = ParallelLayout(mode: .layer, devices: rpc, shares: [3, 1], reason: "test")
        let counts = skewed.placement(shape, gpuLayers: -1, kvCells: 16, batchTokens: 16, cpu: Self.cpu).map(\.layers)
        #expect(counts == [24, 6])
    }

    @Test func tensorPlacementSplitsEveryLayerAndTheOverflowNamesTheDevice() {
        let layout = ParallelLayout(mode: .tensor, devices: [Self.gpu(0), Self.gpu(1)], reason: "test")
        let parts = layout.placement(Self.llama(), gpuLayers: -1, kvCells: 16_384, batchTokens: 2048, cpu: Self.cpu)
        #expect(parts.count == 2 && parts.allSatisfy { $0.layers == 80 && $0.output })
        #expect(abs(parts[0].weightBytes - parts[1].weightBytes) < 1 << 20)
        #expect(ParallelLayout.overflow(parts, devices: layout.devices, memoryShare: 0.9) == nil)
        let huge = layout.placement(Self.llama(), gpuLayers: -1, kvCells: 1_000_000, batchTokens: 2048, cpu: Self.cpu)
        let message = ParallelLayout.overflow(huge, devices: layout.devices, memoryShare: 0.9)
        #expect(message?.hasPrefix("CUDA0 (NVIDIA H100 80GB HBM3) would hold") == true)
    }
}
