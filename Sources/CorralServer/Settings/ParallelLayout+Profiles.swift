/// A layout `corral list-model-profiles` offers, and whether the model fits it.
public struct ParallelProfile: Sendable, Equatable {
    /// The layout, named by `layout.profile`.
    public var layout: ParallelLayout
    /// Whether the model's weights and a sequence's KV fit every device's usable memory;
    /// nil without a model.
    public var fits: Bool?
    /// Why it does not fit or cannot run, or what it is.
    public var note: String

    /// Creates an entry; see each property.
    public init(layout: ParallelLayout, fits: Bool?, note: String) {
        self.layout = layout
        self.fits = fits
        self.note = note
    }
}

extension ParallelLayout {
    /// Every layout the devices give, as NIM lists profiles: one device, then tensor and
    /// layer split over the first 2, 3, … devices (llama.cpp's order: RPC first). With a
    /// model's `shape`, each says whether the weights and one sequence of KV (up to 4096
    /// tokens) fit, and why tensor split cannot serve it where it cannot.
    public static func profiles(visible: [Device], shape: ParallelShape?, lora: Bool, memoryShare: Double) -> [ParallelProfile] {
        let pool = visible.filter { $0.kind != .cpu }
        let cpu = visible.first { $0.kind == .cpu } ?? Device(name: "CPU", description: "CPU", kind: .cpu, freeBytes: 0, totalBytes: 0)
        guard !pool.isEmpty else { return [ParallelProfile(layout: .cpu, fits: shape.map { _ in true }, note: "the CPU")] }
        var layouts = [ParallelLayout(mode: .none, devices: [pool[0]], reason: "one device")]
        for n in stride(from: 2, through: pool.count, by: 1) {
            let devices = Array(pool.prefix(n))
            layouts.append(ParallelLayout(mode: .tensor, devices: devices, reason: "tensor split over \(n)"))
            layouts.append(ParallelLayout(mode: .layer, devices: devices, reason: "layer split over \(n)"))
        }
        return layouts.map { layout in
            let names = layout.devices.map(\.name).joined(separator: ", ")
            guard let shape else { return ParallelProfile(layout: layout, fits: nil, note: names) }
            if layout.mode == .tensor, let why = tensorRefusal(shape, devices: layout.devices, lora: lora) {
                return ParallelProfile(layout: layout, fits: false, note: why)
            }
            let parts = layout.placement(shape, gpuLayers: -1, kvCells: reserveTokens(shape), batchTokens: 512, cpu: cpu)
            if let overflow = overflow(parts, devices: layout.devices, memoryShare: memoryShare) {
                return ParallelProfile(layout: layout, fits: false, note: overflow)
            }
            return ParallelProfile(layout: layout, fits: true, note: names)
        }
    }
}
