/// Multi-LoRA serving (`NIM_PEFT_*`, `NIM_MAX_*_LORAS`, `NIM_MAX_LORA_RANK`): where adapters
/// come from and how many may be loaded and run at once.
public struct LoRASettings: Sendable, Equatable {
    /// The folder of adapters (`NIM_PEFT_SOURCE`): `<name>/` holding one adapter `.gguf`, or
    /// `<name>.gguf`; the name is the model name clients send. Nil serves none.
    public var source: String?
    /// Seconds between rescans of `source` (`NIM_PEFT_REFRESH_INTERVAL`); 0 scans once, at
    /// startup.
    public var refreshInterval: Double = 0
    /// Most adapters with running requests at once (`NIM_MAX_GPU_LORAS`, vLLM's
    /// `--max-loras`); more wait their turn.
    public var maxActive = ServeDefaults.maxGPULoras
    /// Most adapters loaded at once (`NIM_MAX_CPU_LORAS`); adapters found beyond it are
    /// listed as not loaded.
    public var maxLoaded = ServeDefaults.maxCPULoras
    /// The largest adapter rank accepted (`NIM_MAX_LORA_RANK`).
    public var maxRank = ServeDefaults.maxLoraRank

    /// Creates the defaults: no adapters.
    public init(source: String? = nil, refreshInterval: Double = 0) {
        self.source = source
        self.refreshInterval = refreshInterval
    }
}
