import CorralBench
import Foundation

/// Download progress on stderr. On a terminal one line is redrawn at most ten times a
/// second; in logs (not a terminal) only the start and the end are written.
final class DownloadProgress: @unchecked Sendable {
    private let terminal = isatty(STDERR_FILENO) == 1
    private var total: UInt64?
    private var started = ContinuousClock.now
    private var startBytes: UInt64 = 0
    private var lastDraw = ContinuousClock.now

    func start(resumingAt offset: UInt64, total: UInt64?) {
        self.total = total
        started = .now
        startBytes = offset
        let size = total.map { " of \(Self.mib($0))" } ?? ""
        note(offset > 0 ? "resuming at \(Self.mib(offset))\(size)" : "downloading\(size)")
    }

    func update(_ bytes: UInt64) {
        guard terminal, ContinuousClock.now - lastDraw > .milliseconds(100) else { return }
        lastDraw = .now
        let seconds = max((ContinuousClock.now - started).seconds, 0.001)
        let rate = Double(bytes - startBytes) / seconds
        let percent = total.map { String(format: " %5.1f%%", 100 * Double(bytes) / Double(max($0, 1))) } ?? ""
        FileHandle.standardError.write(Data("\r\(Self.mib(bytes))\(percent)  \(Self.mib(UInt64(rate)))/s   ".utf8))
    }

    func finish(_ bytes: UInt64) {
        if terminal { FileHandle.standardError.write(Data("\r".utf8)) }
        note("received \(Self.mib(bytes)) in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s")
    }

    func note(_ line: String) {
        FileHandle.standardError.write(Data("download-to-cache: \(line)\n".utf8))
    }

    static func mib(_ bytes: UInt64) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}
