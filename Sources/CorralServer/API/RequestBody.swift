import Foundation
import Hummingbird

/// Reads and decodes a JSON request body with the checks clients expect: 415 for a body
/// that is not JSON, 413 past the size limit, 400 with the decoder's reason otherwise.
func decodeJSONBody<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws(APIError) -> T {
    try await decodeJSONBodyAndBytes(type, from: request, limit: limit).value
}

/// `decodeJSONBody`, also returning the body's bytes (for reading a JSON schema with its
/// keys in the client's order).
func decodeJSONBodyAndBytes<T: Decodable>(_ type: T.Type, from request: Request,
                                          limit: Int) async throws(APIError) -> (value: T, bytes: Data) {
    let bytes = try await collectJSONBody(from: request, limit: limit)
    return (try decodeJSON(type, from: bytes), bytes)
}

/// Decodes JSON bytes, a 400 with the decoder's reason (naming the field) when they do not fit.
func decodeJSON<T: Decodable>(_ type: T.Type, from bytes: Data) throws(APIError) -> T {
    do {
        return try JSONDecoder().decode(T.self, from: bytes)
    } catch let error as DecodingError {
        let (message, param) = describe(error)
        throw .badRequest(message, param: param)
    } catch {
        throw .badRequest("request body is not valid JSON")
    }
}

/// A one-line reason from a `DecodingError`, naming the field, and the field as `param`.
private func describe(_ error: DecodingError) -> (message: String, param: String?) {
    func path(_ codingPath: [any CodingKey]) -> String? {
        let p = codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return p.isEmpty ? nil : p
    }
    switch error {
    case .typeMismatch(_, let c): return ("\(path(c.codingPath) ?? "body"): wrong type (\(c.debugDescription))", path(c.codingPath))
    case .valueNotFound(_, let c): return ("\(path(c.codingPath) ?? "body"): value missing", path(c.codingPath))
    case .keyNotFound(let key, let c):
        let field = path(c.codingPath + [key])
        return ("missing required field '\(field ?? key.stringValue)'", field)
    case .dataCorrupted(let c):
        guard let field = path(c.codingPath) else { return ("request body is not valid JSON", nil) }
        return ("\(field): \(c.debugDescription)", field)
    @unknown default: return ("invalid request body", nil)
    }
}

/// A JSON request body's bytes, undecoded: 415 for a body that is not JSON, 413 past the
/// size limit.
func collectJSONBody(from request: Request, limit: Int) async throws(APIError) -> Data {
    if let contentType = request.headers[.contentType], !contentType.lowercased().contains("json") {
        throw APIError(.unsupportedMediaType, "Content-Type must be application/json", code: "unsupported_media_type")
    }
    do {
        return Data(buffer: try await request.body.collect(upTo: limit))
    } catch {
        throw APIError(.contentTooLarge, "request body exceeds \(limit) bytes", code: "body_too_large")
    }
}
