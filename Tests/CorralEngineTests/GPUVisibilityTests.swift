import CorralEngine
import Testing

/// A GPU engine build that sees no GPU (the CUDA image without the driver) refuses to serve,
/// unless `NIM_GPU_LAYERS=0` asks for the CPU.
@Suite("GPU visibility")
struct GPUVisibilityTests {
    @Test func cpuEngineHasNothingToSay() {
        #expect(EngineLoader.gpuVisibility(backendsWithoutDevices: [], gpuLayers: -1) == .fine)
        #expect(EngineLoader.gpuVisibility(backendsWithoutDevices: [], gpuLayers: 0) == .fine)
    }

    @Test func cudaEngineWithoutDeviceRefusesNamingTheWayOut() {
        guard case .refuse(let message) = EngineLoader.gpuVisibility(backendsWithoutDevices: ["CUDA"], gpuLayers: -1) else {
            Issue.record("a CUDA engine with no device and all layers offloaded must refuse"); return
        }
        #expect(message.hasPrefix("no GPU is visible"))
        #expect(message.contains("CUDA") && message.contains("--gpus all") && message.contains("NIM_GPU_LAYERS=0"))
    }

    @Test func cudaEngineWithoutDeviceServesOnTheCPUWhenAsked() {
        guard case .cpuAsAsked(let message) = EngineLoader.gpuVisibility(backendsWithoutDevices: ["CUDA"], gpuLayers: 0) else {
            Issue.record("NIM_GPU_LAYERS=0 asks for the CPU"); return
        }
        #expect(message.hasPrefix("no GPU is visible") && message.contains("serving on the CPU"))
    }

    @Test func theCPUEngineUnderTestRegistersNoIdleGPUBackend() {
        // `make test` links the CPU engine: no GPU backend at all, so none without devices.
        #expect(EngineLoader.gpuVisibility(gpuLayers: -1) == .fine)
    }
}
