import Hummingbird

/// `GET /v1/metrics` (and `/metrics`): the Prometheus text exposition.
struct MetricsRoute: Sendable {
    let state: ModelState
    let metrics: ServingMetrics

    /// Renders every metric, with gauges read from the scheduler at this moment.
    func scrape(_ request: Request, context: some RequestContext) -> Response {
        let engine = state.servingEngine
        let snapshot = engine?.scheduler.snapshot
        if let engine, let snapshot, engine.adapters.isEnabled {
            let adapters = engine.adapters
            metrics.lora.update(running: snapshot.adapters.running.compactMap(adapters.name(of:)),
                                waiting: snapshot.adapters.waiting.compactMap(adapters.name(of:)),
                                loaded: Set(adapters.adapters.map(\.name)))
        }
        let text = metrics.exposition(snapshot)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
