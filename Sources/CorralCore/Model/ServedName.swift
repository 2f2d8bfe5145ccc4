/// The name a model is served under when none is configured.
public enum ServedName {
    /// A friendly API name for a model file: the file name without `.gguf` or a
    /// quantization suffix such as `.Q4_1`.
    public static func forPath(_ path: String) -> String {
        var base = String(path.split(separator: "/").last ?? Substring(path))
        if base.hasSuffix(".gguf") { base.removeLast(5) }
        if let dot = base.lastIndex(of: "."), base[base.index(after: dot)...].first?.isUppercase == true {
            base = String(base[..<dot])
        }
        return base
    }
}
