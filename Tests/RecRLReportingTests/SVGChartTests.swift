import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import XCTest
import RecRLReporting

/// Collects the elements of an SVG document with XMLParser (which fails on malformed XML).
final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []
    private var current = ""

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
    ) {
        elements.append((elementName, attributeDict))
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if elementName == "text" { texts.append(current) }
        current = ""
    }
}

final class SVGChartTests: XCTestCase {
    func parse(_ svg: String) throws -> SVGCollector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = SVGCollector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))")
        return collector
    }

    func testKnownChartIsWellFormedWithOneLinePerSeriesAndEscapedLabels() throws {
        let svg = SVGChart.lines(
            title: "A & B <test>", xLabel: "round", yLabel: "reward \"mean\"",
            series: [
                .init(name: "control <static>", values: [1, 2, 3]),
                .init(name: "treatment & co", points: [(1, 0), (2, .nan), (3, 4)]),
            ])
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertFalse(svg.contains("A & B"), "raw ampersand in the output")
        let doc = try parse(svg)
        XCTAssertEqual(doc.elements.first?.name, "svg")
        let lines = doc.elements.filter { $0.name == "polyline" }
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines.map { $0.attributes["stroke"] }, [SVGChart.colors[0], SVGChart.colors[1]])
        // Three points in the first line; the non-finite point is dropped from the second.
        XCTAssertEqual(lines[0].attributes["points"]?.split(separator: " ").count, 3)
        XCTAssertEqual(lines[1].attributes["points"]?.split(separator: " ").count, 2)
        // The parser decodes the entities back to the original labels.
        for label in ["A & B <test>", "round", "reward \"mean\"", "control <static>", "treatment & co"] {
            XCTAssertTrue(doc.texts.contains(label), "missing label \(label) in \(doc.texts)")
        }
        // Shared axes: x from 1 to 3 spans the plot area (left 60, right edge 640 - 20).
        let xs = lines[0].attributes["points"]!.split(separator: " ").map { Double($0.split(separator: ",")[0])! }
        XCTAssertEqual(xs, [60, 340, 620])
    }

    func testEmptyChartIsStillWellFormed() throws {
        let doc = try parse(SVGChart.lines(title: "", xLabel: "x", yLabel: "y", series: []))
        XCTAssertEqual(doc.elements.filter { $0.name == "polyline" }.count, 0)
    }

    func testEscapeReplacesTheFiveSpecialCharacters() {
        XCTAssertEqual(
            SVGChart.escape("<a href=\"x\">Tom's & Jerry</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom&apos;s &amp; Jerry&lt;/a&gt;")
    }
}
