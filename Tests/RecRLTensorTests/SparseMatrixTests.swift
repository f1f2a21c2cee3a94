import XCTest
import RecRLTensor

final class SparseMatrixTests: XCTestCase {
    // 3 × 4, given unsorted with (0, 2) twice:
    // row 0: (0,1)=1 (0,2)=2+5 ; row 1: empty ; row 2: (2,0)=3 (2,3)=4
    let rowIndices: [Int32] = [2, 0, 0, 2, 0]
    let columnIndices: [Int32] = [3, 2, 1, 0, 2]
    let values: [Float] = [4, 2, 1, 3, 5]

    func testCOOWithDuplicatesAndUnsortedInputSumsIntoSortedRows() throws {
        let m = try SparseMatrix(rows: 3, columns: 4, rowIndices: rowIndices, columnIndices: columnIndices, values: values)
        XCTAssertEqual(m.rowStart, [0, 2, 2, 4])
        XCTAssertEqual(m.columnIndices, [1, 2, 0, 3])
        XCTAssertEqual(m.values, [1, 7, 3, 4])
        XCTAssertEqual(m.entryCount, 4)
    }

    func testKeepingDuplicatesKeepsEachEntryInInputOrder() throws {
        let m = try SparseMatrix(
            rows: 3, columns: 4, rowIndices: rowIndices, columnIndices: columnIndices, values: values,
            duplicates: .keep)
        XCTAssertEqual(m.rowStart, [0, 3, 3, 5])
        XCTAssertEqual(m.columnIndices, [1, 2, 2, 0, 3])
        XCTAssertEqual(m.values, [1, 2, 5, 3, 4])
    }

    func testNilValuesAreOnes() throws {
        let m = try SparseMatrix(rows: 2, columns: 2, rowIndices: [1, 1, 0], columnIndices: [0, 0, 1])
        XCTAssertEqual(m.values, [1, 2])
        XCTAssertEqual(m.columnIndices, [1, 0])
    }

    func testRowAccess() throws {
        let m = try SparseMatrix(rows: 3, columns: 4, rowIndices: rowIndices, columnIndices: columnIndices, values: values)
        XCTAssertEqual(m.rowCount(0), 2)
        XCTAssertEqual(m.rowCount(1), 0)
        XCTAssertEqual(Array(m.columns(ofRow: 2)), [0, 3])
        XCTAssertEqual(Array(m.values(ofRow: 2)), [3, 4])
        XCTAssertTrue(m.contains(row: 0, column: 2))
        XCTAssertFalse(m.contains(row: 0, column: 3))
        XCTAssertFalse(m.contains(row: 1, column: 0))
        XCTAssertTrue(m.contains(row: 2, column: 3))
    }

    func testTransposeAndRoundTrip() throws {
        for duplicates in [SparseMatrix.Duplicates.sum, .keep] {
            let m = try SparseMatrix(
                rows: 3, columns: 4, rowIndices: rowIndices, columnIndices: columnIndices, values: values,
                duplicates: duplicates)
            let t = m.transposed()
            XCTAssertEqual(t.rows, 4)
            XCTAssertEqual(t.columns, 3)
            // Every entry (r, c, v) of m is an entry (c, r, v) of t.
            var forward: [[Float]] = Array(repeating: [], count: 12), backward: [[Float]] = Array(repeating: [], count: 12)
            for r in 0..<3 { for k in m.rowStart[r]..<m.rowStart[r + 1] { forward[r * 4 + Int(m.columnIndices[k])].append(m.values[k]) } }
            for c in 0..<4 { for k in t.rowStart[c]..<t.rowStart[c + 1] { backward[Int(t.columnIndices[k]) * 4 + c].append(t.values[k]) } }
            XCTAssertEqual(forward, backward)
            XCTAssertEqual(t.transposed(), m)
        }
        let empty = try SparseMatrix(rows: 0, columns: 5, rowIndices: [], columnIndices: [])
        XCTAssertEqual(empty.transposed().rowStart, [0, 0, 0, 0, 0, 0])
    }

    func testBadInputThrows() {
        XCTAssertThrowsError(try SparseMatrix(rows: -1, columns: 2, rowIndices: [], columnIndices: [])) { error in
            XCTAssertEqual(error as? TensorError, .invalidShape([-1, 2]))
        }
        XCTAssertThrowsError(try SparseMatrix(rows: 2, columns: 2, rowIndices: [0], columnIndices: [0, 1]), "length mismatch")
        XCTAssertThrowsError(try SparseMatrix(rows: 2, columns: 2, rowIndices: [0], columnIndices: [0], values: [1, 2]), "values length")
        XCTAssertThrowsError(try SparseMatrix(rows: 2, columns: 2, rowIndices: [2], columnIndices: [0]), "row out of range")
        XCTAssertThrowsError(try SparseMatrix(rows: 2, columns: 2, rowIndices: [0], columnIndices: [-1]), "negative column")
        XCTAssertThrowsError(try SparseMatrix(rows: 2, columns: 2, rowIndices: [0], columnIndices: [2]), "column out of range")
    }
}
