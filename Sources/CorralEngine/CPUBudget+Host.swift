public import CorralServer
import Foundation

/// How many engine threads to run when none is configured: the CPUs this process may
/// use, which is its affinity mask (`taskset`, cpusets) capped by a cgroup CPU quota (a
/// Kubernetes CPU limit). llama.cpp's own default is a fixed 4, which oversubscribes a
/// 2-CPU pod; its threads spin, so every extra one costs throughput.
extension CPUBudget {
    /// `configured` threads when positive, else what this process may use.
    /// - Parameters:
    ///   - statusText: `/proc/self/status` (its `Cpus_allowed_list` line).
    ///   - cgroupRoot: where the cgroup v2 `cpu.max` or the v1 `cpu/cpu.cfs_*` files are.
    public static func resolve(configured: Int, statusText: String? = nil,
                               cgroupRoot: String = "/sys/fs/cgroup") -> CPUBudget {
        if configured > 0 { return CPUBudget(threads: configured, source: "configured") }
        let status = statusText ?? (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let allowed = allowedCPUs(status: status) ?? ProcessInfo.processInfo.activeProcessorCount
        if let quota = quotaCPUs(cgroupRoot: cgroupRoot), quota < allowed {
            return CPUBudget(threads: quota, source: "cgroup")
        }
        return CPUBudget(threads: max(allowed, 1), source: "affinity")
    }

    /// CPUs in the `Cpus_allowed_list` line, such as `0-3,8,10-11`.
    static func allowedCPUs(status: String) -> Int? {
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
        var count = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).split(separator: ",") {
            let bounds = range.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: count += 1
            case 2 where bounds[1] >= bounds[0]: count += bounds[1] - bounds[0] + 1
            default: return nil
            }
        }
        return count > 0 ? count : nil
    }

    /// Whole CPUs the cgroup's quota allows (rounded down, at least 1), or `nil` when it
    /// has none: v2 `cpu.max` ("200000 100000" or "max 100000"), else v1's
    /// `cpu.cfs_quota_us` (-1 for none) over `cpu.cfs_period_us`.
    static func quotaCPUs(cgroupRoot: String) -> Int? {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: "\(cgroupRoot)/\(path)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var quota: Double?, period: Double?
        if let max = read("cpu.max") {
            let fields = max.split(separator: " ")
            quota = fields.first.flatMap { Double($0) }
            period = fields.count > 1 ? Double(fields[1]) : nil
        } else {
            quota = read("cpu/cpu.cfs_quota_us").flatMap { Double($0) }
            period = read("cpu/cpu.cfs_period_us").flatMap { Double($0) }
        }
        guard let quota, let period, quota > 0, period > 0 else { return nil }
        return max(Int(quota / period), 1)
    }
}
