import Prometheus

/// `vllm:cache_config_info`: the KV cache's configuration as labels of a gauge set to 1, under
/// the label names vLLM's `CacheConfig.metrics_info()` gives it, so the Gateway API
/// Inference Extension's endpoint picker (which reads `block_size` and `num_gpu_blocks`)
/// and vLLM dashboards read Corral as they read vLLM. Values are written as vLLM writes
/// them (Python's `True`, `None`).
struct CacheConfigMetric {
    /// What the labels say.
    struct Reading: Equatable {
        var blockSize: Int
        var gpuBlocks: Int
        var cpuBlocks: Int
        var prefixCaching: Bool
        var gpuMemoryUtilization: Double
    }

    /// The labels of `reading`, in vLLM's names.
    static func labels(_ reading: Reading) -> [(String, String)] {
        func python(_ flag: Bool) -> String { flag ? "True" : "False" }
        return [
            ("block_size", "\(reading.blockSize)"), ("cache_dtype", "auto"), ("calculate_kv_scales", "False"),
            ("cpu_offload_gb", "0"), ("enable_prefix_caching", python(reading.prefixCaching)),
            ("engine", "0"), ("gpu_memory_utilization", "\(reading.gpuMemoryUtilization)"),
            ("is_attention_free", "False"), ("num_cpu_blocks", "\(reading.cpuBlocks)"),
            ("num_gpu_blocks", "\(reading.gpuBlocks)"), ("num_gpu_blocks_override", "None"),
            ("prefix_caching_hash_algo", "fnv1a64"), ("sliding_window", "None"), ("swap_space", "0"),
        ]
    }

    /// Registers the gauge for `reading`, set to 1.
    static func register(_ reading: Reading, labels: [(String, String)], in registry: PrometheusCollectorRegistry) {
        registry.makeGauge(descriptor: .exact("vllm:cache_config_info", "Information of the KV cache configuration (vLLM's CacheConfig)."),
                           labels: labels + Self.labels(reading)).set(Double(1))
    }
}
