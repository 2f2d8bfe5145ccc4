import CLlama
import Foundation
import Synchronization

/// Routes the engine's own log output. llama.cpp prints a great deal at load time; we
/// keep it quiet unless `CORRAL_ENGINE_LOG=1` (which `corral serve` sets at
/// `NIM_LOG_LEVEL=DEBUG` or `TRACE`), but remember the last error line so that a failed
/// load can say why.
enum EngineLog {
    private static let lastError = Mutex<String>("")
    private static let installed = Mutex<Bool>(false)

    /// Installs the callback and initializes the backend once per process.
    static func install() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            let verbose = getenv("CORRAL_ENGINE_LOG").map { String(cString: $0) == "1" } ?? false
            llama_log_set(verbose ? verboseCallback : quietCallback, nil)
            llama_backend_init()
        }
    }

    /// Clears and returns the last error line the engine logged.
    static func takeLastError() -> String {
        lastError.withLock { value in
            defer { value = "" }
            return value.trimmingCharacters()
        }
    }

    private static let quietCallback: ggml_log_callback = { level, text, _ in
        guard let text, level == GGML_LOG_LEVEL_ERROR else { return }
        EngineLog.lastError.withLock { $0 = String(cString: text) }
    }

    private static let verboseCallback: ggml_log_callback = { level, text, _ in
        guard let text else { return }
        let line = String(cString: text)
        if level == GGML_LOG_LEVEL_ERROR { EngineLog.lastError.withLock { $0 = line } }
        FileHandle.standardError.write(Data(line.utf8))
    }
}

extension String {
    /// Trims ASCII whitespace and newlines without pulling in Foundation.
    func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }),
              let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
