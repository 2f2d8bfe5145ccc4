import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `corral download-to-cache`: provisions a model into `NIM_CACHE_PATH` before serving,
/// as NIM's command of the same name does (a Helm init container runs it).
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download-to-cache",
        abstract: "Download a GGUF model into the cache, resumably and verified.",
        discussion: """
            SOURCE is an http(s):// URL or hf://OWNER/REPO/PATH/FILE.gguf (Hugging Face; \
            HF_ENDPOINT and HF_TOKEN are honoured). The file lands in $NIM_CACHE_PATH/models \
            only once complete and verified; an interrupted download resumes on the next run. \
            HTTPS_PROXY and HTTP_PROXY (either case) are used unless the host is in NO_PROXY.
            """)

    @Argument(help: "http(s):// URL or hf://OWNER/REPO/FILE.gguf.")
    var source: String
    @Option(help: "Expected sha256 (hex); the download fails if the file differs.")
    var sha256: String?
    @Option(help: "File name in the cache (default: the source's file name).")
    var name: String?
    @Option(help: "Hugging Face revision for hf:// sources.")
    var revision = "main"
    @Option(help: "Model cache directory (NIM_CACHE_PATH; default /opt/nim/.cache).")
    var cachePath: String?
    @Option(help: "Tries before giving up; each resumes where the last stopped.")
    var attempts = 5

    func validate() throws {
        if let sha256, sha256.count != 64 || !sha256.allSatisfy(\.isHexDigit) {
            throw ValidationError("--sha256 must be 64 hex digits")
        }
        guard attempts >= 1 else { throw ValidationError("--attempts must be at least 1") }
        _ = try resolved()
    }

    /// The URL, the request headers, and the file name.
    func resolved() throws -> (url: String, headers: [(String, String)], file: String) {
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

    func run() async throws {
        let (url, headers, file) = try resolved()
        let cache = cachePath ?? Environment.string("NIM_CACHE_PATH") ?? "/opt/nim/.cache"
        let models = cache + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        let destination = models + "/" + file
        let progress = DownloadProgress()
        if FileManager.default.fileExists(atPath: destination) {
            let digest = try ModelDownload.sha256(ofFile: destination)
            if sha256 == nil || digest == sha256?.lowercased() {
                progress.note("\(file) is already cached (sha256 \(digest))")
                print(destination)
                return
            }
            progress.note("\(file) is cached with sha256 \(digest), not the expected one: downloading again")
        }
        let download = ModelDownload(url: url, headers: headers, destination: destination, sha256: sha256,
                                     progress: progress)
        do {
            let digest = try await download.run(attempts: attempts)
            progress.note("saved \(destination) (sha256 \(digest))")
            print(destination)
        } catch {
            throw DownloadError("download failed: \(error)", retryable: false)
        }
    }
}
