import Foundation

/// Turns what a user names (`--model`, `NIM_MODEL_NAME`) into a GGUF path: either a path
/// to a file, or the name of a model in the cache (`$NIM_CACHE_PATH/models`).
public enum ModelLocator {
    /// Resolves `name`. A cache name matches `NAME`, `NAME.gguf`, or a single cached file
    /// whose name starts with `NAME.`, `NAME-` or `NAME_` (so `SmolLM2-135M-Instruct` finds
    /// the Q4_1 file, and `Llama-3.1-8B` finds `Llama-3.1-8B-Q4_K_M.gguf`).
    /// - Throws: `.fileNotFound`, listing the cached models when there are any.
    public static func resolve(_ name: String, cacheDirectory: String) throws(LlamaError) -> String {
        let fm = FileManager.default
        if name.contains("/") || name.hasSuffix(".gguf") {
            if fm.fileExists(atPath: name) { return name }
            let inCache = modelsDirectory(cacheDirectory) + "/" + name
            if !name.hasPrefix("/"), fm.fileExists(atPath: inCache) { return inCache }
            throw .fileNotFound(name)
        }
        let cached = cachedModels(cacheDirectory: cacheDirectory)
        if let exact = cached.first(where: { $0 == name || $0 == name + ".gguf" }) {
            return modelsDirectory(cacheDirectory) + "/" + exact
        }
        // A quantization suffix may follow the name after any usual separator:
        // NAME.Q4_1.gguf, NAME-Q4_K_M.gguf, NAME_q8_0.gguf.
        let prefixed = cached.filter { file in [".", "-", "_"].contains { file.hasPrefix(name + $0) } }
        if prefixed.count == 1 { return modelsDirectory(cacheDirectory) + "/" + prefixed[0] }
        let known = cached.isEmpty
            ? "the cache is empty: fill it with `corral download-to-cache hf://OWNER/REPO/FILE.gguf`, or serve with --model hf://OWNER/REPO/FILE.gguf"
            : "cached: " + cached.joined(separator: ", ")
        throw LlamaError(.fileNotFound, "no model named '\(name)' in \(modelsDirectory(cacheDirectory)) (\(known))",
                         file: #fileID, line: #line)
    }

    /// GGUF files in the cache, by file name.
    public static func cachedModels(cacheDirectory: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: modelsDirectory(cacheDirectory))) ?? []
        return files.filter { $0.hasSuffix(".gguf") }.sorted()
    }

    /// Where cached models live.
    public static func modelsDirectory(_ cacheDirectory: String) -> String { cacheDirectory + "/models" }
}
