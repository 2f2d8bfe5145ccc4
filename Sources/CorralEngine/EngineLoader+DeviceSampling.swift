import Foundation

extension EngineLoader {
    /// Whether plain greedy requests are sampled inside the engine's graph. Auto: when the
    /// output layer runs on a GPU, where the argmax is nearly free and saves copying each
    /// sequence's logits row back to the host. On the CPU backend it costs more than it
    /// saves (ggml's CPU argmax runs each row on one thread, after a copy of every row:
    /// on 2 cores the engine call grew from about 360 to 700 µs per sequence-step on a
    /// 128k vocabulary, `docs/benchmarks/2026-12-05-host-work-cpu-tinydeci.md`), so the
    /// host's vectorised argmax does it. The pad patch (`patches/llama.cpp/0001-…`) took the
    /// doubling out, but at 128 sequences host sampling still decoded faster
    /// (`docs/benchmarks/2026-12-07-pad-patch-cpu-tinydeci.md`). `CORRAL_DEVICE_SAMPLING=on|off` overrides auto,
    /// for benchmarks and checks.
    static func deviceSampling(outputOnGPU: Bool) -> Bool {
        switch ProcessInfo.processInfo.environment["CORRAL_DEVICE_SAMPLING"] {
        case "on", "1": true
        case "off", "0": false
        default: outputOnGPU
        }
    }
}
