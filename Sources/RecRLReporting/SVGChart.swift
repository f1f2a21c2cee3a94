import Foundation

/// A minimal SVG line chart for learning curves and online reward plots, shared by the
/// `recrl` tool and the examples.
///
/// The output is a standalone, well-formed SVG document: every label is XML-escaped, and
/// points that are not finite are left out of their line (and of the axis ranges).
public enum SVGChart {
    /// One named line of the chart.
    public struct Series: Sendable {
        /// The legend label.
        public var name: String
        /// `(x, y)` points, drawn in the given order.
        public var points: [(Double, Double)]

        /// A series from explicit points.
        public init(name: String, points: [(Double, Double)]) {
            self.name = name
            self.points = points
        }

        /// A series whose `k`-th value is drawn at `x = firstX + k` (e.g. rounds 1, 2, ...).
        public init(name: String, values: [Double], firstX: Double = 1) {
            self.init(name: name, points: values.enumerated().map { (firstX + Double($0.offset), $0.element) })
        }
    }

    /// Line colours, assigned to series in order (and reused cyclically).
    public static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    /// Renders `series` on shared axes with a legend, five ticks per axis and light grid lines.
    /// - Returns: the SVG document, ending with a newline.
    public static func lines(
        title: String, xLabel: String, yLabel: String, series: [Series],
        width: Double = 640, height: Double = 360
    ) -> String {
        let all = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        let xs = all.map(\.0), ys = all.map(\.1)
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        var (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 == x0 { x1 = x0 + 1 }
        if y1 == y0 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        let left = 60.0, right = 20.0, top = 30.0, bottom = 45.0
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * ph }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        svg += "<text x=\"\(width / 2)\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">\(escape(title))</text>\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" fill=\"none\" stroke=\"#888\"/>\n"
        for i in 0...4 {
            let y = y0 + (y1 - y0) * Double(i) / 4, x = x0 + (x1 - x0) * Double(i) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(py(y) + 4)\" text-anchor=\"end\">\(String(format: "%.3g", y))</text>\n"
            svg += "<text x=\"\(px(x))\" y=\"\(top + ph + 16)\" text-anchor=\"middle\">\(String(format: "%.4g", x))</text>\n"
            svg += "<line x1=\"\(left)\" x2=\"\(left + pw)\" y1=\"\(py(y))\" y2=\"\(py(y))\" stroke=\"#eee\"/>\n"
        }
        svg += "<text x=\"\(left + pw / 2)\" y=\"\(height - 8)\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(top + ph / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(top + ph / 2))\">\(escape(yLabel))</text>\n"
        for (n, s) in series.enumerated() {
            let color = colors[n % colors.count]
            let path = s.points.filter { $0.0.isFinite && $0.1.isFinite }
                .map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
            svg += "<text x=\"\(left + 10)\" y=\"\(top + 16 + 14 * Double(n))\" fill=\"\(color)\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// `text` with the five XML special characters replaced by entities.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
