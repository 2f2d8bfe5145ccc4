public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import OpenAPIHummingbird
public import Logging

/// Builds the HTTP application that `corral serve` runs; tests build the same one.
/// - Parameters:
///   - config: server settings.
///   - state: the model's phase; the caller loads the model and updates it.
///   - metrics: what `/v1/metrics` exports; the loader attaches the same object to the
///     scheduler. Nil makes a fresh one.
///   - engine: the engine this binary runs, for `/v1/version`.
///   - logger: where request lines and errors go.
/// - Throws: `TLSSettings.Problem` when TLS is on and its files cannot be used.
public func buildApplication(config: ServerConfig, state: ModelState, metrics: ServingMetrics? = nil,
                             engine: EngineIdentity = .unknown, logger: Logger) throws -> some ApplicationProtocol {
    let metrics = metrics ?? ServingMetrics(config: config)
    let router = Router()
    // Outermost first: the log line sees the final status and the request id, and the
    // HTTP metrics see requests the key check refuses.
    router.add(middleware: RequestLogMiddleware(logger: logger))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(metrics: metrics.http))
    if let keys = config.keys {
        router.add(middleware: APIKeyMiddleware(keys: keys, protectMetrics: config.metricsRequireAuth))
    }
    let info = InfoRoutes(state: state, config: config)
    let completions = CompletionHandler(state: state, config: config, metrics: metrics, logger: logger,
                                        limiter: TenantLimiter())
    let scrape = MetricsRoute(state: state, metrics: metrics)
    // Probes, model list and version: generated from openapi.yaml.
    try GeneratedAPI(state: state, engine: engine).registerHandlers(on: router)
    router.get("/v1/metrics", use: scrape.scrape)
    router.get("/metrics", use: scrape.scrape)
    router.post("/v1/chat/completions") { request, context in
        try await completions.counting(.chat) { try await completions.chat(request, context: context) }
    }
    router.post("/v1/completions") { request, context in
        try await completions.counting(.completions) { try await completions.completions(request, context: context) }
    }
    // vLLM's render endpoints: validated and templated as generation is, nothing generated.
    router.post("/v1/chat/completions/render") { request, context in try await completions.chatRender(request, context: context) }
    router.post("/v1/completions/render") { request, context in try await completions.completionsRender(request, context: context) }
    router.post("/v1/responses") { request, context in
        try await completions.counting(.responses) { try await completions.responses(request, context: context) }
    }
    router.post("/v1/embeddings") { request, context in
        try await completions.counting(.embeddings) { try await completions.embeddings(request, context: context) }
    }
    router.get("/v1/metadata", use: info.metadata)
    router.get("/v1/usage", use: UsageRoute(state: state, config: config, metrics: metrics).usage)
    router.post("/tokenize", use: info.tokenize)
    router.post("/detokenize", use: info.detokenize)
    // Header limits and the idle timeout bound what a slow or hostile client can hold.
    let http1 = HTTPServerBuilder.http1(configuration: .init(
        idleTimeout: config.idleTimeout > 0 ? .nanoseconds(Int64(config.idleTimeout * 1e9)) : nil,
        httpDecoderConfiguration: .init(maxHeaderFieldSize: config.maxHeaderBytes,
                                        maxHeaderListSize: config.maxHeaderBytes)))
    let server = try config.tls.configuration().map { try HTTPServerBuilder.tls(http1, tlsConfiguration: $0) } ?? http1
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "corral"),
        logger: logger)
}
