import CorralCore
import Foundation
import Hummingbird
import Prometheus

/// HTTP figures: requests by route, method and status, their duration, and how many are
/// in flight. Routes are the router's patterns (`/v1/models/{id}`), and unmatched paths
/// share one label value, so the series stay bounded whatever clients send.
struct HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let labels: [(String, String)]
    let buckets: [Double]
    let inFlight: Gauge

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)], buckets: [Double]) {
        self.registry = registry
        self.labels = labels
        self.buckets = buckets
        inFlight = registry.makeGauge(
            descriptor: .exact("http_requests_in_flight", "HTTP requests being served, streams included."), labels: labels)
    }

    /// Counts one finished request.
    func record(route: String, method: String, status: Int, seconds: Double) {
        let routeLabels = labels + [("route", route), ("method", method)]
        registry.makeCounter(descriptor: .exact("http_requests_total", "HTTP requests by route, method and status."),
                             labels: routeLabels + [("status", String(status))]).increment()
        registry.makeValueHistogram(
            descriptor: .exact("http_request_duration_seconds", "Seconds to serve an HTTP request, to the end of its body."),
            labels: routeLabels, buckets: buckets).record(seconds)
    }
}

/// Feeds `HTTPMetrics`. It sits outside the API-key check, so refused requests count too.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        let metrics = self.metrics
        metrics.inFlight.increment()
        @Sendable func done(_ route: String, _ status: Int) {
            let elapsed = ContinuousClock.now - start
            let seconds = elapsed.seconds
            metrics.record(route: route, method: method, status: status, seconds: seconds)
            metrics.inFlight.decrement()
        }
        do {
            var response = try await next(request, context)
            let status = response.status.code
            let route = context.endpointPath ?? "NotFound"
            // A streamed body ends after this returns: count it when its last byte is
            // written, or when writing fails because the client went away.
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                do { try await body.write(writer) } catch { done(route, status); throw error }
                done(route, status)
            }
            return response
        } catch {
            let status = APIError(translating: error)?.status.code ?? (error as? any HTTPResponseError)?.status.code ?? 500
            done(context.endpointPath ?? "NotFound", status)
            throw error
        }
    }
}
