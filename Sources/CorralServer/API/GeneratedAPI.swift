import Foundation
import CorralCore
import OpenAPIRuntime

/// The operations served from swift-openapi-generator's stubs (see
/// `openapi-generator-config.yaml`): health probes, the model list and the version.
struct GeneratedAPI: APIProtocol {
    let state: ModelState
    /// The engine this binary runs, for `/v1/version` (answered before the model loads).
    let engine: EngineIdentity

    /// `GET /v1/health/live`: 200 whenever the process serves HTTP.
    func live(_ input: Operations.live.Input) async throws -> Operations.live.Output {
        .ok(.init(body: .json(.init(object: "health", message: "live"))))
    }

    /// `GET /v1/health/ready`: 200 only when the model is loaded and warmed up.
    func ready(_ input: Operations.ready.Input) async throws -> Operations.ready.Output {
        let message: String
        switch state.current {
        case .ready: return .ok(.init(body: .json(.init(object: "health", message: "ready"))))
        case .loading: message = "loading"
        case .failed(let why): message = "failed: \(why)"
        case .draining: message = "draining"
        }
        return .serviceUnavailable(.init(body: .json(.init(object: "health", message: message))))
    }

    /// `GET /health` (vLLM's, which routers probe): `/v1/health/ready`'s answer.
    func health(_ input: Operations.health.Input) async throws -> Operations.health.Output {
        switch try await ready(.init()) {
        case .ok(let ok): return .ok(.init(body: .json(try ok.body.json)))
        case .serviceUnavailable(let no): return .serviceUnavailable(.init(body: .json(try no.body.json)))
        case .undocumented(let status, let payload): return .undocumented(statusCode: status, payload)
        }
    }

    /// `GET /v1/models`.
    func listModels(_ input: Operations.listModels.Input) async throws -> Operations.listModels.Output {
        .ok(.init(body: .json(.init(object: "list", data: cards()))))
    }

    /// `GET /v1/models/{id}`.
    func getModel(_ input: Operations.getModel.Input) async throws -> Operations.getModel.Output {
        guard let card = cards().first(where: { $0.id == input.path.id }) else {
            throw APIError.modelNotFound(input.path.id)
        }
        return .ok(.init(body: .json(card)))
    }

    /// `GET /v1/version`.
    func version(_ input: Operations.version.Input) async throws -> Operations.version.Output {
        .ok(.init(body: .json(.init(release: Self.release, api: "v1", engine: engine.version))))
    }

    /// The release of this server.
    static let release = "0.1.0"

    private static let started = Int(Date().timeIntervalSince1970)

    private func cards() -> [Components.Schemas.Model] {
        guard let engine = state.servingEngine else { return [] }
        let capabilities = engine.serves.names.compactMap { Components.Schemas.Model.capabilitiesPayloadPayload(rawValue: $0) }
        let base = Components.Schemas.Model(id: engine.servedName, object: "model", created: Self.started, owned_by: "corral",
                                            root: engine.model.path, max_model_len: engine.scheduler.maxModelLength,
                                            capabilities: capabilities)
        // Each LoRA adapter is a model of its own whose parent is the base, as vLLM lists them.
        return [base] + engine.adapters.adapters.map {
            .init(id: $0.name, object: "model", created: $0.created, owned_by: "corral", root: $0.path,
                  parent: engine.servedName, max_model_len: engine.scheduler.maxModelLength, capabilities: capabilities)
        }
    }
}
