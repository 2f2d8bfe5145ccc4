import Foundation

/// The process figures Prometheus client libraries export as `process_*`, read from
/// `/proc/self` on Linux at scrape time. Elsewhere every field reads 0.
struct ProcessStats {
    /// Resident set size in bytes.
    var residentBytes: Double = 0
    /// Virtual memory size in bytes.
    var virtualBytes: Double = 0
    /// Open file descriptors.
    var openFileDescriptors: Double = 0
    /// The soft limit on open file descriptors.
    var maxFileDescriptors: Double = 0
    /// User plus system CPU seconds.
    var cpuSeconds: Double = 0

    /// When this process started, in seconds since the Unix epoch.
    var startTime: Double = 0

    /// Reads the current figures.
    static func read() -> ProcessStats {
        var stats = ProcessStats()
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ").compactMap { Double($0) }
            if fields.count >= 2 {
                stats.virtualBytes = fields[0] * pageSize
                stats.residentBytes = fields[1] * pageSize
            }
        }
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after the command name: state is field 3, utime 14, stime 15 and
            // starttime (ticks after boot) 22.
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            if rest.count > 19, let user = Double(rest[11]), let system = Double(rest[12]),
               let started = Double(rest[19]), ticks > 0 {
                stats.cpuSeconds = (user + system) / ticks
                stats.startTime = bootTime() + started / ticks
            }
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count ?? 0
        stats.openFileDescriptors = Double(max(fds - 1, 0))  // the listing holds one itself
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { stats.maxFileDescriptors = Double(limit.rlim_cur) }
        return stats
    }

    /// The boot time, from `/proc/stat`'s `btime` line.
    private static func bootTime() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return 0
    }
}
