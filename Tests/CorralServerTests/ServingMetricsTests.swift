import CorralServer
import CorralCore
@testable import Scheduler
import Testing

/// The metrics object on its own: observer events in, exposition text out.
@Suite("Serving metrics")
struct ServingMetricsTests {
    func summary(_ reason: FinishReason, tokens: Int, endpoint: String = "/v1/completions") -> GenerationSummary {
        GenerationSummary(reason: reason, promptTokens: 7, completionTokens: tokens, queueTime: 0.002,
                          timeToFirstToken: 0.004, totalTime: 0.104, preemptions: 0, endpoint: endpoint)
    }

    func snapshot(running: Int, generated: Int) -> SchedulerSnapshot {
        var counters = SchedulerCounters()
        counters.generationTokens = generated
        counters.promptTokens = 3 * generated
        return SchedulerSnapshot(running: running, waiting: 2, waitingTokens: 20, kvUsed: 64, kvCached: 0,
                                 kvCapacity: 256, counters: counters)
    }

    /// The value of the one line starting with `series `.
    func line(_ text: String, _ series: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.map { String($0.dropFirst(series.count + 1)) }
    }

    @Test("gauges come from the snapshot, and vLLM aliases match")
    func gauges() {
        let metrics = ServingMetrics(modelName: "m", maxRequests: 16)
        let text = metrics.exposition(snapshot(running: 5, generated: 0))
        #expect(line(text, #"num_requests_running{model_name="m"}"#) == "5.0")
        #expect(line(text, #"vllm:num_requests_running{model_name="m"}"#) == "5.0")
        #expect(line(text, #"num_requests_waiting{model_name="m"}"#) == "2.0")
        #expect(line(text, #"gpu_cache_usage_perc{model_name="m"}"#) == "0.25")
        #expect(line(text, #"vllm:kv_cache_usage_perc{model_name="m"}"#) == "0.25")
        #expect(line(text, #"num_request_max{model_name="m"}"#) == "16.0")
        #expect(text.contains("# HELP num_requests_running "))
        // Before a model is loaded every gauge reads 0.
        #expect(line(metrics.exposition(nil), #"num_requests_running{model_name="m"}"#) == "0.0")
    }

    @Test("token totals count from activation, so warm-up never shows")
    func totalsFromBaseline() {
        let metrics = ServingMetrics(modelName: "m", maxRequests: 4, active: false)
        metrics.requestFinished(summary(.stop, tokens: 1))  // warm-up: ignored
        #expect(line(metrics.exposition(snapshot(running: 0, generated: 1)), #"generation_tokens_total{model_name="m"}"#) == "0")
        metrics.activate(baseline: snapshot(running: 0, generated: 1))
        #expect(line(metrics.exposition(snapshot(running: 0, generated: 11)), #"generation_tokens_total{model_name="m"}"#) == "10")
        let text = metrics.exposition(snapshot(running: 0, generated: 15))
        #expect(line(text, #"generation_tokens_total{model_name="m"}"#) == "14")
        #expect(line(text, #"prompt_tokens_total{model_name="m"}"#) == "42")
        #expect(line(text, #"request_success_total{model_name="m",finished_reason="stop",endpoint="/v1/completions"}"#) == "0")
    }

    @Test("finished requests fill the histograms; failures count by reason")
    func histogramsAndFailures() {
        let metrics = ServingMetrics(modelName: "m", maxRequests: 4)
        metrics.requestFinished(summary(.length, tokens: 11))
        metrics.requestFailed(.cancelled, endpoint: "/v1/chat/completions")
        metrics.requestFailed(.queueTimeout, endpoint: "/v1/completions")
        metrics.refused(.overload, endpoint: "/v1/completions")
        metrics.stepFinished(StepStats(duration: 0.02, prefillTokens: 7, decodeTokens: 3, sequences: 4,
                                       sampleSeconds: 0.005, scheduleSeconds: 0.25, hostSeconds: 0.25))
        metrics.stepFinished(StepStats(duration: 0.5, prefillTokens: 0, decodeTokens: 0, sequences: 0,
                                       sampleSeconds: 0.125, scheduleSeconds: 0.25, hostSeconds: 0.5))
        let text = metrics.exposition(nil)
        #expect(line(text, #"iteration_phase_seconds_total{model_name="m",phase="engine"}"#).map { Double($0)! } == (0.02 - 0.005) + (0.5 - 0.125))
        #expect(line(text, #"iteration_phase_seconds_total{model_name="m",phase="sampling"}"#).map { Double($0)! } == 0.005 + 0.125)
        #expect(line(text, #"iteration_phase_seconds_total{model_name="m",phase="scheduler"}"#) == "0.5")
        #expect(line(text, #"iteration_phase_seconds_total{model_name="m",phase="host"}"#) == "0.75")
        #expect(line(text, #"request_success_total{model_name="m",finished_reason="length",endpoint="/v1/completions"}"#) == "1")
        #expect(line(text, #"request_success_total{model_name="m",finished_reason="length",endpoint="/v1/chat/completions"}"#) == "0")
        #expect(line(text, #"time_to_first_token_seconds_bucket{model_name="m",le="0.0025"}"#) == "0")
        #expect(line(text, #"time_to_first_token_seconds_bucket{model_name="m",le="0.005"}"#) == "1")
        // (0.104 - 0.004) / 10 tokens after the first = 10 ms.
        #expect(line(text, #"time_per_output_token_seconds_bucket{model_name="m",le="0.0075"}"#) == "0")
        #expect(line(text, #"time_per_output_token_seconds_bucket{model_name="m",le="0.01"}"#) == "1")
        #expect(line(text, #"e2e_request_latency_seconds_bucket{model_name="m",le="0.1"}"#) == "0")
        #expect(line(text, #"e2e_request_latency_seconds_bucket{model_name="m",le="0.25"}"#) == "1")
        #expect(line(text, #"request_generation_tokens_sum{model_name="m"}"#) == "11.0")
        #expect(line(text, #"iteration_tokens_sum{model_name="m"}"#) == "10.0")
        #expect(line(text, #"iteration_running_sequences_sum{model_name="m"}"#) == "4.0")
        #expect(line(text, #"request_failure_total{model_name="m",reason="cancelled",endpoint="/v1/chat/completions"}"#) == "1")
        #expect(line(text, #"request_failure_total{model_name="m",reason="cancelled",endpoint="/v1/completions"}"#) == "0")
        #expect(line(text, #"request_failure_total{model_name="m",reason="timeout",endpoint="/v1/completions"}"#) == "1")
        #expect(line(text, #"request_failure_total{model_name="m",reason="overload",endpoint="/v1/completions"}"#) == "1")
        #expect(line(text, #"request_failure_total{model_name="m",reason="error",endpoint="/v1/completions"}"#) == "0")
    }

    @Test("responses and embeddings count under their own endpoint; an embedding has no first token")
    func endpointsOfTheNewRoutes() {
        let metrics = ServingMetrics(modelName: "m", maxRequests: 4)
        metrics.requestFinished(summary(.stop, tokens: 3, endpoint: "/v1/responses"))
        var embedding = summary(.stop, tokens: 0, endpoint: "/v1/embeddings")
        embedding.embedding = [1, 0]
        metrics.requestFinished(embedding)
        metrics.refused(.badRequest, endpoint: "/v1/embeddings")
        let text = metrics.exposition(nil)
        #expect(line(text, #"request_success_total{model_name="m",finished_reason="stop",endpoint="/v1/responses"}"#) == "1")
        #expect(line(text, #"request_success_total{model_name="m",finished_reason="stop",endpoint="/v1/embeddings"}"#) == "1")
        #expect(line(text, #"request_failure_total{model_name="m",reason="bad_request",endpoint="/v1/embeddings"}"#) == "1")
        #expect(line(text, #"time_to_first_token_seconds_count{model_name="m"}"#) == "1", "only the response's")
        #expect(line(text, #"e2e_request_latency_seconds_count{model_name="m"}"#) == "2")
    }

    @Test("bucket lists parse, and bad ones are refused with the setting's name")
    func buckets() throws {
        #expect(try MetricBuckets.parse("0.001, 0.01,1", setting: "X") == [0.001, 0.01, 1])
        #expect(MetricBuckets.default.timeToFirstToken.first == 0.001)
        #expect(MetricBuckets.default.interTokenLatency.first == 0.001)
        #expect(MetricBuckets.default.endToEnd.first == 0.05)
        for bad in ["", "0.1,0.1", "1,0.5", "-1", "abc", "0"] {
            #expect(throws: MetricBuckets.BucketError.self) { try MetricBuckets.parse(bad, setting: "NIM_X") }
        }
        do {
            _ = try MetricBuckets.parse("1,x", setting: "NIM_METRICS_E2E_BUCKETS")
        } catch {
            #expect(error.description.hasPrefix("NIM_METRICS_E2E_BUCKETS:"))
        }
    }
}
