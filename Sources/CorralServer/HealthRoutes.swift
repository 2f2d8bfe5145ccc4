import Foundation
import Hummingbird

/// Health, readiness and model listing: NIM's probe semantics.
struct HealthRoutes: Sendable {
    let state: ModelState

    /// `GET /v1/health/live`: 200 whenever the process serves HTTP.
    func live(_ request: Request, context: some RequestContext) -> Response {
        Self.message(.ok, "live")
    }

    /// `GET /v1/health/ready`: 200 only when the model is loaded and warmed up.
    func ready(_ request: Request, context: some RequestContext) -> Response {
        switch state.current {
        case .ready: Self.message(.ok, "ready")
        case .loading: Self.message(.serviceUnavailable, "loading")
        case .failed(let why): Self.message(.serviceUnavailable, "failed: \(why)")
        case .draining: Self.message(.serviceUnavailable, "draining")
        }
    }

    /// `GET /v1/models`.
    func models(_ request: Request, context: some RequestContext) throws -> Response {
        try CompletionHandler.json(ModelList(data: cards()))
    }

    /// `GET /v1/models/{id}`.
    func model(_ request: Request, context: some RequestContext) throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let card = cards().first(where: { $0.id == id }) else { throw APIError.modelNotFound(id) }
        return try CompletionHandler.json(card)
    }

    private func cards() -> [ModelCard] {
        guard let engine = state.servingEngine else { return [] }
        return [ModelCard(id: engine.servedName, created: Self.started, root: engine.model.path,
                          max_model_len: engine.scheduler.maxModelLength)]
    }

    private static let started = Int(Date().timeIntervalSince1970)

    private static func message(_ status: HTTPResponse.Status, _ text: String) -> Response {
        let body = "{\"object\":\"health\",\"message\":\"\(text.replacingOccurrences(of: "\"", with: "'"))\"}"
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
