import Foundation
import Hummingbird

/// Reads and decodes a JSON request body with the checks clients expect: 415 for a body
/// that is not JSON, 413 past the size limit, 400 with the decoder's reason otherwise.
func decodeJSONBody<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws(APIError) -> T {
    if let contentType = request.headers[.contentType], !contentType.lowercased().contains("json") {
        throw APIError(.unsupportedMediaType, "Content-Type must be application/json", code: "unsupported_media_type")
    }
    let buffer: ByteBuffer
    do {
        buffer = try await request.body.collect(upTo: limit)
    } catch {
        throw APIError(.contentTooLarge, "request body exceeds \(limit) bytes", code: "body_too_large")
    }
    do {
        return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
    } catch let error as DecodingError {
        throw .badRequest(describe(error))
    } catch {
        throw .badRequest("request body is not valid JSON")
    }
}

/// A one-line reason from a `DecodingError`, naming the field.
private func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? "body" : p
    }
    switch error {
    case .typeMismatch(_, let c): return "\(path(c)): wrong type (\(c.debugDescription))"
    case .valueNotFound(_, let c): return "\(path(c)): value missing"
    case .keyNotFound(let key, let c): return "missing required field '\((c.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
    case .dataCorrupted(let c): return c.codingPath.isEmpty ? "request body is not valid JSON" : "\(path(c)): \(c.debugDescription)"
    @unknown default: return "invalid request body"
    }
}
