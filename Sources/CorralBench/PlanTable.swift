import Foundation

/// Renders capacity plans as an aligned text table, one column per model, with the
/// ratio of concurrent sequences when two are compared.
public enum PlanTable {
    /// The table for `plans` (one or more columns).
    public static func render(_ plans: [CapacityPlan]) -> String {
        guard let first = plans.first else { return "" }
        var rows: [(String, [String])] = []
        func row(_ label: String, _ value: (CapacityPlan) -> String) { rows.append((label, plans.map(value))) }
        row("model") { $0.model }
        row("layers") { "\($0.layers)" }
        row("  full attention") { "\($0.attentionLayers)" }
        row("  linear attention") { "\($0.linearAttentionLayers)" }
        row("  no attention") { "\($0.noAttentionLayers)" }
        row("  no FFN") { "\($0.noFFNLayers)" }
        row("parameters") { String(format: "%.2f B", Double($0.parameters) / 1e9) }
        for dtype in ["gguf", "f16", "fp8", "q8_0", "q4_k_m"] where plans.contains(where: { $0.weightBytes[dtype] != nil }) {
            row("weights \(dtype)") { p in p.weightBytes[dtype].map { gib($0) } ?? "-" }
        }
        row("KV per token (\(first.kvDType))") { kib($0.kvBytesPerToken) }
        if plans.contains(where: { $0.devices > 1 }) {
            row("devices (tp × pp)") { "\($0.devices) (tp\($0.tensorParallel) × pp\($0.pipelineParallel))" }
            row("weights per device") { gib($0.weightBytesPerDevice) }
            row("KV per token per device") { kib($0.kvBytesPerTokenPerDevice) }
        }
        row("memory × utilization") { "\(gib($0.memoryBytes)) × \($0.memoryUtilization)\($0.devices > 1 ? " per device" : "")" }
        row("weights counted (\(first.weightDType))") { p in p.weightBytes[p.weightDType].map { gib($0) } ?? "-" }
        row("reserve") { gib($0.reserveBytes) }
        row("KV budget") { $0.fits ? gib($0.kvBudgetBytes) : "none: weights do not fit" }
        row("KV tokens") { "\($0.kvTokens)" }
        row("sequences at \(first.contextLength) tokens") { "\($0.maxSequences)" }
        if plans.contains(where: { $0.devices > 1 }) {
            row("sequences per device") { String(format: "%.1f", Double($0.maxSequences) / Double($0.devices)) }
        }
        if plans.count == 2 {
            let (a, b) = (plans[0], plans[1])
            let ratio = a.maxSequences > 0 ? String(format: "%.2f×", Double(b.maxSequences) / Double(a.maxSequences))
                : (b.maxSequences > 0 ? "∞ (the first does not fit)" : "-")
            let kvRatio = b.kvBytesPerToken > 0 ? String(format: "%.2f×", Double(a.kvBytesPerToken) / Double(b.kvBytesPerToken)) : "-"
            rows.append(("KV per token, first ÷ second", [kvRatio, ""]))
            rows.append(("sequences, second ÷ first", [ratio, ""]))
            if a.devices != b.devices, a.maxSequences > 0 {
                let perDevice = (Double(b.maxSequences) / Double(b.devices)) / (Double(a.maxSequences) / Double(a.devices))
                rows.append(("sequences per device, second ÷ first", [String(format: "%.2f×", perDevice), ""]))
            }
        }
        let labelWidth = rows.map(\.0.count).max() ?? 0
        let widths = plans.indices.map { i in rows.map { $0.1[i].count }.max() ?? 0 }
        return rows.map { label, values in
            label.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + "  "
                + zip(values, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }.joined(separator: "\n") + "\n"
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.2f GiB", Double(bytes) / 1_073_741_824) }
    static func kib(_ bytes: Int) -> String { String(format: "%.1f KiB", Double(bytes) / 1024) }
}
