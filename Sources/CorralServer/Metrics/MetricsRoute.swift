import Hummingbird

/// `GET /v1/metrics` (and `/metrics`): the Prometheus text exposition.
struct MetricsRoute: Sendable {
    let state: ModelState
    let metrics: ServingMetrics

    /// Renders every metric, with gauges read from the scheduler at this moment.
    func scrape(_ request: Request, context: some RequestContext) -> Response {
        let text = metrics.exposition(state.servingEngine?.scheduler.snapshot)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
