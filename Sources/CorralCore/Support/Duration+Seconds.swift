extension Duration {
    /// The duration in seconds, as a Double: the one conversion every module uses (the
    /// standard library offers only the integer `components`).
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
