import CorralCore
public import CorralServer
import Foundation
public import LlamaEngine

extension KVSizing {
    /// Sizes the cache to `percent` of the memory the loaded `model` leaves free: the GPUs'
    /// free memory when layers are offloaded, else the smaller of the system's available
    /// memory and the cgroup's remaining limit, less the weights (mapped, so not yet counted).
    /// The result is a multiple of 256 per sequence and at most `sequences` full training
    /// contexts.
    /// - Throws: when that share holds fewer than 256 tokens per sequence.
    public static func percent(_ percent: Double, model: LlamaModel, gpuLayers: Int, sequences: Int) throws -> KVSizing {
        let perToken = max(model.metadata.kvElementsPerToken * 2, 1)
        let gpus = EngineDevice.all().filter { $0.kind == .gpu || $0.kind == .integratedGPU }
        let free: Int, source: String
        if LlamaModel.supportsGPUOffload, gpuLayers != 0, !gpus.isEmpty {
            (free, source) = (gpus.reduce(0) { $0 + $1.freeBytes }, "gpu")
        } else {
            let host = HostMemory.available()
            (free, source) = (max(host.bytes - Int(model.sizeBytes), 0), host.source)
        }
        // Whole 256-cell blocks per sequence, as llama.cpp pads each partition to them.
        let block = 256 * max(sequences, 1)
        var tokens = Int(Double(free) * percent) / perToken / block * block
        let context = model.metadata.trainingContextLength
        if context > 0 { tokens = min(tokens, sequences * context) }
        guard tokens >= 256 * sequences else {
            throw KVSizingError( "NIM_KV_CACHE_PERCENT=\(percent): \(free >> 20) MiB free (\(source)) holds "
                                + "\(tokens) KV tokens at \(perToken) bytes each, under 256 per sequence for \(sequences)")
        }
        return KVSizing(mode: "percent", tokens: tokens, bytesPerToken: perToken, percent: percent, freeBytes: free,
                        memorySource: source)
    }
}

/// Available host memory: `/proc/meminfo`'s MemAvailable, capped by the cgroup's limit
/// less its usage when the process runs in a container with a memory limit.
enum HostMemory {
    static func available() -> (bytes: Int, source: String) {
        let system = meminfo("MemAvailable") ?? Int(ProcessInfo.processInfo.physicalMemory)
        if let limit = cgroupRemaining(), limit < system { return (limit, "cgroup") }
        return (system, "system")
    }

    /// A `/proc/meminfo` field in bytes.
    static func meminfo(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.dropFirst(field.count + 1).split(separator: " ").first.flatMap { Int($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// cgroup v2 `memory.max - memory.current`, or v1 `limit_in_bytes - usage_in_bytes`.
    static func cgroupRemaining() -> Int? {
        func read(_ path: String) -> Int? {
            (try? String(contentsOfFile: path, encoding: .utf8))
                .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if let max = read("/sys/fs/cgroup/memory.max"), let current = read("/sys/fs/cgroup/memory.current") {
            return max - current
        }
        if let limit = read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
           let usage = read("/sys/fs/cgroup/memory/memory.usage_in_bytes"), limit < (1 << 60) {
            return limit - usage
        }
        return nil
    }
}
