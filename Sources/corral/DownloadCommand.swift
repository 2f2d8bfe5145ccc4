import ArgumentParser
import AsyncHTTPClient
import CorralServer
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
    @Option(help: ArgumentHelp(ServeSetting.cachePath.help))
    var cachePath: String?
    @Option(help: "Tries before giving up; each resumes where the last stopped.")
    var attempts = 5

    func validate() throws {
        if let sha256, sha256.count != 64 || !sha256.allSatisfy(\.isHexDigit) {
            throw ValidationError("--sha256 must be 64 hex digits")
        }
        guard attempts >= 1 else { throw ValidationError("--attempts must be at least 1") }
        _ = try ModelDownload.resolve(source, revision: revision, name: name)
    }

    func run() async throws {
        let cache = Environment.string(.cachePath, flag: cachePath) ?? ServeDefaults.cachePath
        print(try await ModelDownload.fetch(source, cachePath: cache, sha256: sha256, revision: revision, name: name,
                                            attempts: attempts))
    }
}
