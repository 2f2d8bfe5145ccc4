import Foundation
import Hummingbird

/// Requires `Authorization: Bearer <key>` with one of the configured keys on every route
/// except the health probes, and the metrics unless `protectMetrics`. Keys are compared in
/// constant time.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    let protectMetrics: Bool

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let open = path.hasPrefix("/v1/health/") || (!protectMetrics && (path == "/v1/metrics" || path == "/metrics"))
        if open { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
              Self.matches(Array(header.utf8.dropFirst(7)), keys) else {
            throw APIError(.unauthorized, "missing or invalid API key (send Authorization: Bearer <key>)",
                           type: "authentication_error", code: "invalid_api_key")
        }
        return try await next(request, context)
    }

    static func matches(_ candidate: [UInt8], _ keys: [[UInt8]]) -> Bool {
        var found = false
        for key in keys where key.count == candidate.count {
            var diff: UInt8 = 0
            for (a, b) in zip(key, candidate) { diff |= a ^ b }
            found = found || diff == 0
        }
        return found
    }
}

/// Reads API keys from a file: one per line; blank lines and `#` comments are skipped.
public enum APIKeys {
    /// The keys in `path`.
    /// - Throws: when the file cannot be read or holds no key.
    public static func load(path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let keys = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw APIKeysError(path: path) }
        return keys
    }

    struct APIKeysError: Error, CustomStringConvertible {
        let path: String
        var description: String { "the API keys file \(path) holds no key" }
    }
}
