@testable import CorralEngine
import CorralServer
import Foundation
import Testing

/// The default engine thread count: affinity mask, capped by a cgroup CPU quota.
@Suite("CPU budget")
struct CPUBudgetTests {
    /// A temporary cgroup root holding `files`.
    func cgroup(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroup-\(UUID().uuidString)").path
        for (path, text) in files {
            let url = URL(fileURLWithPath: root).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return root
    }

    let eightCPUs = "Name:\tcorral\nCpus_allowed:\tff\nCpus_allowed_list:\t0-3,6,8-10\n"

    @Test("The affinity list counts single CPUs and ranges")
    func affinityListIsCounted() {
        #expect(CPUBudget.allowedCPUs(status: eightCPUs) == 8)
        #expect(CPUBudget.allowedCPUs(status: "Cpus_allowed_list:\t0\n") == 1)
        #expect(CPUBudget.allowedCPUs(status: "Cpus_allowed_list:\t3-1\n") == nil)
        #expect(CPUBudget.allowedCPUs(status: "nothing here") == nil)
    }

    @Test("A cgroup v2 quota below the affinity caps the threads")
    func cgroupV2QuotaCaps() throws {
        let root = try cgroup(["cpu.max": "250000 100000\n"])
        #expect(CPUBudget.resolve(configured: 0, statusText: eightCPUs, cgroupRoot: root)
                == CPUBudget(threads: 2, source: "cgroup"))
        let half = try cgroup(["cpu.max": "50000 100000\n"])
        #expect(CPUBudget.resolve(configured: 0, statusText: eightCPUs, cgroupRoot: half).threads == 1)
    }

    @Test("No quota, or a quota above the affinity, leaves the affinity")
    func noQuotaLeavesAffinity() throws {
        let none = try cgroup(["cpu.max": "max 100000\n"])
        #expect(CPUBudget.resolve(configured: 0, statusText: eightCPUs, cgroupRoot: none)
                == CPUBudget(threads: 8, source: "affinity"))
        let wide = try cgroup(["cpu.max": "1600000 100000\n"])
        #expect(CPUBudget.resolve(configured: 0, statusText: eightCPUs, cgroupRoot: wide).threads == 8)
    }

    @Test("A cgroup v1 CFS quota caps the threads too")
    func cgroupV1QuotaCaps() throws {
        let root = try cgroup(["cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"])
        #expect(CPUBudget.resolve(configured: 0, statusText: eightCPUs, cgroupRoot: root).threads == 3)
        let unlimited = try cgroup(["cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"])
        #expect(CPUBudget.resolve(configured: 0, statusText: eightCPUs, cgroupRoot: unlimited).threads == 8)
    }

    @Test("A configured count wins")
    func configuredWins() throws {
        let root = try cgroup(["cpu.max": "100000 100000\n"])
        #expect(CPUBudget.resolve(configured: 5, statusText: eightCPUs, cgroupRoot: root)
                == CPUBudget(threads: 5, source: "configured"))
    }
}
