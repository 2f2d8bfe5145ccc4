import Prometheus
import Synchronization

/// The standard `process_*` series, refreshed from `ProcessStats` at each scrape.
final class ProcessMetrics: Sendable {
    let resident, virtual, openFDs, maxFDs, startTime: Gauge
    let cpu: Counter
    /// CPU seconds already added to the counter.
    private let cpuSeen = Mutex<Double>(0)

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)]) {
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: .exact(name, help), labels: labels)
        }
        resident = gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        virtual = gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
        openFDs = gauge("process_open_fds", "Open file descriptors.")
        maxFDs = gauge("process_max_fds", "Limit on open file descriptors.")
        startTime = gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
        cpu = registry.makeCounter(
            descriptor: .exact("process_cpu_seconds_total", "User and system CPU time spent, in seconds."), labels: labels)
    }

    func update() {
        let stats = ProcessStats.read()
        resident.set(stats.residentBytes)
        virtual.set(stats.virtualBytes)
        openFDs.set(stats.openFileDescriptors)
        maxFDs.set(stats.maxFileDescriptors)
        startTime.set(stats.startTime)
        let delta = cpuSeen.withLock { seen in
            defer { seen = max(seen, stats.cpuSeconds) }
            return stats.cpuSeconds - seen
        }
        if delta > 0 { cpu.increment(by: delta) }
    }
}
