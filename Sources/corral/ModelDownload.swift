import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// Fetches one GGUF into the model cache: resumable (an HTTP Range request continues a
/// partial file), verified (sha256 over the whole file) and atomic (the file appears under
/// `models/` only by a rename after verification, so a partial file is never a model).
struct ModelDownload {
    /// Where the bytes come from.
    let url: String
    /// Extra request headers (a Hugging Face token).
    let headers: [(String, String)]
    /// The final path, `$NIM_CACHE_PATH/models/NAME.gguf`.
    let destination: String
    /// Expected lowercase hex sha256, if known.
    let sha256: String?
    /// Progress goes to stderr: redrawn on a terminal, start and end lines otherwise.
    let progress: DownloadProgress

    /// The partial file, next to the models but not named `*.gguf`.
    var partialPath: String {
        let url = URL(fileURLWithPath: destination)
        return url.deletingLastPathComponent().appendingPathComponent(".partial/\(url.lastPathComponent).part").path
    }

    /// Downloads with up to `attempts` tries, each resuming where the last stopped.
    /// - Returns: the file's sha256.
    func run(attempts: Int) async throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(atPath: (partialPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !fm.fileExists(atPath: partialPath) { _ = fm.createFile(atPath: partialPath, contents: nil) }
        let client = try DownloadProxy.client(for: url)
        var lastError: (any Error)?
        for attempt in 1...max(attempts, 1) {
            do {
                try await fetchRest(client)
                lastError = nil
                break
            } catch let error as DownloadError where !error.retryable {
                lastError = error
                break
            } catch {
                lastError = error
                progress.note("attempt \(attempt) stopped (\(error)); resuming")
                try? await Task.sleep(for: .milliseconds(min(250 << attempt, 8000)))
            }
        }
        try? await client.shutdown()
        if let lastError { throw lastError }
        let digest = try Self.sha256Hex(ofFile: partialPath)
        if let sha256, digest != sha256.lowercased() {
            try? fm.removeItem(atPath: partialPath)
            throw DownloadError("sha256 mismatch: got \(digest), expected \(sha256.lowercased()); the partial file was removed")
        }
        if fm.fileExists(atPath: destination) { try fm.removeItem(atPath: destination) }
        try fm.moveItem(atPath: partialPath, toPath: destination)  // same directory tree: a rename
        return digest
    }

    /// One request for the bytes the partial file lacks, appended as they arrive.
    private func fetchRest(_ client: HTTPClient) async throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: partialPath))
        defer { try? handle.close() }
        var offset = try handle.seekToEnd()
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if offset > 0 { request.headers.add(name: "Range", value: "bytes=\(offset)-") }
        let response = try await client.execute(request, timeout: .hours(24))
        switch response.status.code {
        case 206:
            break
        case 200:
            // No range support (or a fresh start): begin again from byte 0.
            try handle.truncate(atOffset: 0)
            offset = 0
        case 416 where offset > 0:
            return  // the partial file already holds every byte
        case 401, 403, 404:
            throw DownloadError("HTTP \(response.status.code) for \(url)", retryable: false)
        default:
            throw DownloadError("HTTP \(response.status.code) for \(url)")
        }
        let total = Self.totalSize(response, offset: offset)
        progress.start(resumingAt: offset, total: total)
        var written = offset
        for try await buffer in response.body {
            try buffer.withUnsafeReadableBytes { try handle.write(contentsOf: $0) }
            written += UInt64(buffer.readableBytes)
            progress.update(written)
        }
        if let total, written < total { throw DownloadError("connection closed at \(written) of \(total) bytes") }
        try handle.synchronize()
        progress.finish(written)
    }

    /// The full size, from `Content-Range: bytes a-b/N` or `Content-Length`.
    static func totalSize(_ response: HTTPClientResponse, offset: UInt64) -> UInt64? {
        if let range = response.headers.first(name: "Content-Range"), let slash = range.lastIndex(of: "/") {
            return UInt64(range[range.index(after: slash)...])
        }
        return response.headers.first(name: "Content-Length").flatMap { UInt64($0) }.map { $0 + offset }
    }

    /// Lowercase hex sha256 of a file, read in 4 MiB pieces.
    static func sha256Hex(ofFile path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// Why a download stopped; `retryable` ones are tried again from where they stopped.
struct DownloadError: Error, CustomStringConvertible {
    let description: String
    var retryable = true
    init(_ description: String, retryable: Bool = true) {
        self.description = description
        self.retryable = retryable
    }
}
