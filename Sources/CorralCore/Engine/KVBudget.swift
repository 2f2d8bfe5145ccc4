/// The KV cache's share of a device's memory, counted as vLLM counts it: a server may use
/// a share of the device's total memory; what the weights (and anything else) already use
/// and a reserve for work buffers come off it, and the KV cache gets the rest. The
/// capacity planner (`corral plan`) and the server's own sizing both use it, so a plan and
/// a running server agree.
public enum KVBudget {
    /// Bytes left for the KV cache; negative when the weights alone do not fit.
    public static func bytes(totalBytes: Int, utilization: Double, usedBytes: Int, reserveBytes: Int) -> Int {
        Int(Double(totalBytes) * utilization) - usedBytes - reserveBytes
    }

    /// The tokens `budgetBytes` holds at `bytesPerToken`, in whole blocks of `block` cells
    /// (llama.cpp pads each sequence's partition to 256); 0 when the budget is not positive.
    public static func tokens(budgetBytes: Int, bytesPerToken: Int, block: Int = 1) -> Int {
        guard budgetBytes > 0, bytesPerToken > 0, block > 0 else { return 0 }
        return budgetBytes / bytesPerToken / block * block
    }
}
