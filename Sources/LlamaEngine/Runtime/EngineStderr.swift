import CLlamaCommon
import Glibc
import Synchronization

/// Parts of llama.cpp print request content straight to standard error: the grammar
/// parser prints its error followed by the whole grammar, and the schema converter prints
/// a warning with the schema's patterns. That would put a client's text into the server's
/// log (and break one-JSON-object-per-line logging). Calls that may do so run here, with
/// stderr captured; the reason is handed back for the 400, and anything else that was
/// written meanwhile (another thread's log line) is passed on to the real stderr.
enum EngineStderr {
    private static let lock = Mutex(())
    /// Most bytes of captured output read back; a grammar echo can be as long as the body.
    private static let limit = 1 << 20

    /// Runs `body` with stderr captured and returns its result and the captured text, less
    /// `echo` (the caller's own input that the engine printed back), which is dropped.
    static func capturing<T>(dropping echo: String? = nil, _ body: () -> T) -> (value: T, text: String) {
        lock.withLock { _ in
            let capturing = corral_stderr_capture_begin() == 0
            let value = body()
            guard capturing, let raw = corral_stderr_capture_end(limit) else { return (value, "") }
            defer { corral_common_free(raw) }
            var text = String(cString: raw)
            var reason = ""
            if let echo, let range = text.range(of: "\n\n" + echo + "\n") {
                // "parse: error parsing grammar: REASON\n\nGRAMMAR\n"
                let head = text[..<range.lowerBound]
                let start = head.range(of: "error parsing grammar: ", options: .backwards)
                reason = start.map { String(head[$0.upperBound...]) } ?? ""
                let lineStart = head.lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
                text.removeSubrange(lineStart..<range.upperBound)
            }
            var rest: [Substring] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("WARNING: JSON schema conversion was incomplete") { continue }
                rest.append(line)
            }
            let forward = rest.joined(separator: "\n")
            if !forward.allSatisfy(\.isWhitespace) {
                _ = forward.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            }
            return (value, reason)
        }
    }
}
