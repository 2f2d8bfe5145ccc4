import ArgumentParser
import Foundation

/// Where a model comes from when it is named by URL: `download-to-cache` and `serve
/// --model hf://…` both go through here, so they resolve, cache and verify alike.
extension ModelDownload {
    /// Whether `model` names a download (`hf://`, `http://`, `https://`) rather than a
    /// path or a cached name.
    static func isRemote(_ model: String) -> Bool {
        model.hasPrefix("hf://") || model.hasPrefix("http://") || model.hasPrefix("https://")
    }

    /// The URL, the request headers, and the file name in the cache for `source`.
    /// `hf://OWNER/REPO/PATH/FILE.gguf` resolves against `HF_ENDPOINT` (default Hugging
    /// Face) at `revision`, with `HF_TOKEN` as a bearer token when set.
    static func resolve(_ source: String, revision: String = "main", name: String? = nil)
        throws(ValidationError) -> (url: String, headers: [(String, String)], file: String) {
        var url = source
        var headers: [(String, String)] = []
        if source.hasPrefix("hf://") {
            let parts = source.dropFirst(5).split(separator: "/", omittingEmptySubsequences: true)
            guard parts.count >= 3 else { throw ValidationError("hf:// needs OWNER/REPO/FILE, got \(source)") }
            let endpoint = ProcessInfo.processInfo.environment["HF_ENDPOINT"] ?? "https://huggingface.co"
            url = "\(endpoint)/\(parts[0])/\(parts[1])/resolve/\(revision)/\(parts[2...].joined(separator: "/"))"
            if let token = ProcessInfo.processInfo.environment["HF_TOKEN"], !token.isEmpty {
                headers.append(("Authorization", "Bearer \(token)"))
            }
        } else if !(source.hasPrefix("http://") || source.hasPrefix("https://")) {
            throw ValidationError("SOURCE must be http://, https:// or hf://, got \(source)")
        }
        let pathPart = url.split(separator: "?").first.map(String.init) ?? url
        let file = name ?? (pathPart as NSString).lastPathComponent
        guard file.hasSuffix(".gguf"), !file.contains("/"), file != ".gguf" else {
            throw ValidationError("the cached file must be named NAME.gguf (use --name), not \(file)")
        }
        return (url, headers, file)
    }

    /// Puts `source` into `$cachePath/models` unless it is there already (with `sha256`
    /// when given), resuming and verifying as `download-to-cache` does.
    /// - Returns: the cached file's path.
    static func fetch(_ source: String, cachePath: String, sha256: String? = nil, revision: String = "main",
                      name: String? = nil, attempts: Int = 5) async throws -> String {
        let (url, headers, file) = try resolve(source, revision: revision, name: name)
        let models = cachePath + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let destination = models + "/" + file
        let progress = DownloadProgress()
        if FileManager.default.fileExists(atPath: destination) {
            let digest = try sha256Hex(ofFile: destination)
            if sha256 == nil || digest == sha256?.lowercased() {
                progress.note("\(file) is already cached (sha256 \(digest))")
                return destination
            }
            progress.note("\(file) is cached with sha256 \(digest), not the expected one: downloading again")
        }
        let download = ModelDownload(url: url, headers: headers, destination: destination, sha256: sha256,
                                     progress: progress)
        do {
            let digest = try await download.run(attempts: attempts)
            progress.note("saved \(destination) (sha256 \(digest))")
            return destination
        } catch {
            throw DownloadError("download of \(source) failed: \(error)", retryable: false)
        }
    }
}
