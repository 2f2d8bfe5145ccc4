public import Hummingbird
public import Logging

/// Builds the HTTP application that `corral serve` runs; tests build the same one.
/// - Parameters:
///   - config: server settings.
///   - state: the model's phase; the caller loads the model and updates it.
public func buildApplication(config: ServerConfig, state: ModelState, logger: Logger) -> some ApplicationProtocol {
    let router = Router()
    // Outermost first: the log line sees the final status and the request id.
    router.add(middleware: RequestLogMiddleware(logger: logger))
    router.add(middleware: RequestIDMiddleware())
    if !config.apiKeys.isEmpty { router.add(middleware: APIKeyMiddleware(keys: config.apiKeys.map { Array($0.utf8) })) }
    let health = HealthRoutes(state: state)
    let info = InfoRoutes(state: state, config: config)
    let completions = CompletionHandler(state: state, config: config)
    router.get("/v1/health/live", use: health.live)
    router.get("/v1/health/ready", use: health.ready)
    router.get("/v1/models", use: health.models)
    router.get("/v1/models/{id}", use: health.model)
    router.post("/v1/chat/completions", use: completions.chat)
    router.post("/v1/completions", use: completions.completions)
    router.get("/v1/metadata", use: info.metadata)
    router.get("/v1/version", use: info.version)
    router.post("/tokenize", use: info.tokenize)
    router.post("/detokenize", use: info.detokenize)
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "corral"),
        logger: logger)
}
