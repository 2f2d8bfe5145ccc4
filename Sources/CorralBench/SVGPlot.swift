import Foundation

/// An SVG chart of output throughput (x) against TTFT p99 (y) across a sweep, one series
/// per target, each point labelled with its load: the frontier chart of NVIDIA's
/// Nemotron write-up, for serving. Written by hand; no library needed for lines and text.
public enum SVGPlot {
    /// The chart for `runs`, grouped by target.
    public static func throughputVersusTTFT(_ runs: [BenchRun], title: String) -> String {
        let width = 720.0, height = 440.0, left = 70.0, right = 160.0, top = 40.0, bottom = 50.0
        let points = runs.compactMap { r in r.ttft.map { (r, r.outputTokensPerSecond, $0.p99) } }
        let maxX = niceCeiling(points.map(\.1).max() ?? 1), maxY = niceCeiling(points.map(\.2).max() ?? 1)
        func x(_ v: Double) -> Double { left + v / maxX * (width - left - right) }
        func y(_ v: Double) -> Double { height - bottom - v / maxY * (height - top - bottom) }
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

            """
        for i in 0...5 {
            let fx = maxX * Double(i) / 5, fy = maxY * Double(i) / 5
            svg += "<line x1=\"\(x(fx))\" y1=\"\(y(0))\" x2=\"\(x(fx))\" y2=\"\(y(maxY))\" stroke=\"#eee\"/>"
            svg += "<line x1=\"\(x(0))\" y1=\"\(y(fy))\" x2=\"\(x(maxX))\" y2=\"\(y(fy))\" stroke=\"#eee\"/>\n"
            svg += "<text x=\"\(x(fx))\" y=\"\(y(0) + 18)\" text-anchor=\"middle\">\(label(fx))</text>"
            svg += "<text x=\"\(x(0) - 8)\" y=\"\(y(fy) + 4)\" text-anchor=\"end\">\(label(fy))</text>\n"
        }
        svg += "<line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(maxX))\" y2=\"\(y(0))\" stroke=\"black\"/>"
        svg += "<line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(0))\" y2=\"\(y(maxY))\" stroke=\"black\"/>\n"
        svg += "<text x=\"\((x(0) + x(maxX)) / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">output tokens per second</text>\n"
        svg += "<text transform=\"translate(18 \((y(0) + y(maxY)) / 2)) rotate(-90)\" text-anchor=\"middle\">TTFT p99 (s)</text>\n"
        let targets = runs.map(\.target).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for (i, target) in targets.enumerated() {
            let color = colors[i % colors.count]
            let series = points.filter { $0.0.target == target }.sorted { $0.1 < $1.1 }
            let path = series.map { "\(x($0.1)),\(y($0.2))" }.joined(separator: " ")
            svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for (run, tps, ttft) in series {
                svg += "<circle cx=\"\(x(tps))\" cy=\"\(y(ttft))\" r=\"4\" fill=\"\(color)\"/>"
                svg += "<text x=\"\(x(tps) + 6)\" y=\"\(y(ttft) - 6)\" fill=\"\(color)\">\(escape(run.load))</text>\n"
            }
            let ly = top + 10 + Double(i) * 20
            svg += "<rect x=\"\(width - right + 20)\" y=\"\(ly - 9)\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(width - right + 38)\" y=\"\(ly + 1)\">\(escape(target))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// 1, 2 or 5 times a power of ten, at least `v`.
    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let power = pow(10, floor(log10(v)))
        for m in [1.0, 2, 5, 10] where m * power >= v { return m * power }
        return 10 * power
    }

    static func label(_ v: Double) -> String { v >= 10 ? String(format: "%.0f", v) : String(format: "%.2g", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
