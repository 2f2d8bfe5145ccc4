import CorralCore
public import CorralServer
import Foundation
public import LlamaEngine

extension KVSizing.Memory {
    /// What the loaded `model` leaves: the layout's devices' free and total memory (GPUs,
    /// RPC workers' devices) when layers are offloaded, else the smaller of the system's
    /// available memory and the cgroup's remaining limit, less the weights (mapped, so not
    /// yet counted as used).
    public static func measure(model: LlamaModel, layout: ParallelLayout, gpuLayers: Int) -> KVSizing.Memory {
        let devices = EngineDevice.all()
        let names = Set(layout.devices.map(\.name))
        let gpus = gpuLayers == 0 ? [] : devices.filter { names.contains($0.name) && $0.kind != .cpu }
        if !gpus.isEmpty {
            return .init(onGPU: true, freeBytes: gpus.reduce(0) { $0 + $1.freeBytes },
                         totalBytes: gpus.reduce(0) { $0 + $1.totalBytes }, source: "gpu",
                         devices: gpus.map { "\($0.name): \($0.description)" })
        }
        let host = HostMemory.available()
        let free = max(host.bytes - Int(model.sizeBytes), 0)
        let cpus = devices.filter { $0.kind == .cpu }.map { "\($0.name): \($0.description)" }
        return .init(onGPU: false, freeBytes: free, totalBytes: free, source: host.source, devices: cpus)
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
