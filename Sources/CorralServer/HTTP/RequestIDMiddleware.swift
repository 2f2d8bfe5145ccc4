import Foundation
import HTTPTypes
import Hummingbird

/// Accepts `X-Request-Id` from the client or makes one, and echoes it on every response,
/// errors included. Also turns the router's bare 404 for unknown paths into OpenAI's shape.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let supplied = request.headers[Self.header].flatMap { $0.count <= 128 ? $0 : nil }
        let id = supplied ?? UUID().uuidString.lowercased()
        var head = request.head
        head.headerFields[Self.header] = id  // handlers log under the same id
        let request = Request(head: head, body: request.body)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let status = (error as? HTTPError)?.status
            if let api = APIError(translating: error) {
                response = try api.response(from: request, context: context)
            } else if status == .notFound {
                response = try APIError(.notFound, "no route for \(request.method) \(request.uri.path)", code: "not_found")
                    .response(from: request, context: context)
            } else if status == .methodNotAllowed {
                response = try APIError(.methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
                    .response(from: request, context: context)
            } else {
                throw error
            }
        }
        response.headers[Self.header] = id
        return response
    }
}
