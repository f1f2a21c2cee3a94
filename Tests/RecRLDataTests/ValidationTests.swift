import Foundation
import XCTest
@testable import RecRLData

final class ValidationTests: XCTestCase {
    /// Loads a u.data body leniently and strictly; returns the lenient result and the strict error.
    private func load(_ body: String) throws -> (LoadedDataset, Error?) {
        let dir = try TempDir(["u.data": bytes(body)])
        let lenient = try DatasetLoader.load(directory: dir.path)
        var strictError: Error?
        do { _ = try DatasetLoader.load(directory: dir.path, options: LoadOptions(strict: true)) } catch { strictError = error }
        return (lenient, strictError)
    }

    func testEachRowErrorIsCountedWithFileAndLine() throws {
        let cases: [(String, String, String)] = [
            // (bad row, reason key, message for line 2)
            ("1\t2\t3\n", "wrong_field_count", "u.data:2: expected 4 fields, found 3"),
            ("1\t2\t3\t4\t5\n", "wrong_field_count", "u.data:2: expected 4 fields, found 5"),
            ("x1\t2\t3\t4\n", "bad_id", "u.data:2: invalid user id 'x1'"),
            ("1\t2.5\t3\t4\n", "bad_id", "u.data:2: invalid item id '2.5'"),
            ("1\t2\tfive\t4\n", "non_numeric_rating", "u.data:2: rating 'five' is not a number"),
            ("1\t2\t7\t4\n", "rating_out_of_scale", "u.data:2: rating 7 outside 1...5"),
            ("1\t2\t0.5\t4\n", "rating_out_of_scale", "u.data:2: rating 0.5 outside 1...5"),
            ("1\t2\t3\t2001-01-01\n", "bad_timestamp", "u.data:2: bad timestamp '2001-01-01'"),
            ("1\t2\t3\t-5\n", "bad_timestamp", "u.data:2: bad timestamp '-5'"),
            ("\n", "wrong_field_count", "u.data:2: expected 4 fields, found 0"),
        ]
        for (bad, reason, message) in cases {
            let (loaded, strictError) = try load("1\t1\t4\t100\n" + bad + "2\t1\t5\t101\n")
            XCTAssertEqual(loaded.report.rowsRead, 3, bad)
            XCTAssertEqual(loaded.report.rowsKept, 2, bad)
            XCTAssertEqual(loaded.report.dropped, [reason: 1], bad)
            XCTAssertEqual(loaded.report.examples, [message], bad)
            XCTAssertEqual(loaded.dataset.interactionCount, 2, bad)
            XCTAssertEqual(strictError.map { "\($0)" }, message, "strict mode throws the first bad row: \(bad)")
            XCTAssertEqual((strictError as? DataError)?.reason, reason)
        }
    }

    func testExamplesAreCappedButCountsAreComplete() throws {
        var body = "1\t1\t4\t100\n"
        for i in 0..<12 { body += "1\t\(i + 2)\t9\t100\n" }
        let (loaded, _) = try load(body)
        XCTAssertEqual(loaded.report.dropped["rating_out_of_scale"], 12)
        XCTAssertEqual(loaded.report.examples.count, ValidationReport.maxExamples)
        XCTAssertEqual(loaded.report.examples.first, "u.data:2: rating 9 outside 1...5")
    }

    func testFatalFileErrors() throws {
        let empty = try TempDir(["u.data": []])
        XCTAssertThrowsError(try DatasetLoader.load(directory: empty.path)) { XCTAssertEqual("\($0)", "u.data: file is empty") }
        let blank = try TempDir(["u.data": bytes("\n\r\n  \n")])
        XCTAssertThrowsError(try DatasetLoader.load(directory: blank.path)) { XCTAssertEqual($0 as? DataError, .emptyFile(file: "u.data")) }
        let utf16 = try TempDir(["u.data": [0xFF, 0xFE] + Array("1\t1\t4\t1\n".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })])
        XCTAssertThrowsError(try DatasetLoader.load(directory: utf16.path)) {
            XCTAssertEqual("\($0)", "u.data:1: unreadable encoding (UTF-16/UTF-32 byte-order mark; expected an 8-bit text file)")
        }
        let nul = try TempDir(["u.data": bytes("1\t1\t4\t1\n2\t1\t4\t1") + [0] + bytes("\n")])
        XCTAssertThrowsError(try DatasetLoader.load(directory: nul.path)) {
            XCTAssertEqual("\($0)", "u.data:2: unreadable encoding (NUL byte; binary or UTF-16 data?)")
        }
        let allBad = try TempDir(["u.data": bytes("1\t1\t9\t1\n")])
        XCTAssertThrowsError(try DatasetLoader.load(directory: allBad.path)) {
            XCTAssertEqual("\($0)", "u.data: no valid interactions after validation")
        }
        let headerOnly = try TempDir(["interactions.csv": bytes("user,item,rating\n")])
        XCTAssertThrowsError(try DatasetLoader.load(directory: headerOnly.path)) {
            XCTAssertEqual($0 as? DataError, .emptyFile(file: "interactions.csv"))
        }
        let noColumn = try TempDir(["interactions.csv": bytes("user,product,rating\nu,i,1\n")])
        XCTAssertThrowsError(try DatasetLoader.load(directory: noColumn.path)) {
            XCTAssertEqual("\($0)", "interactions.csv:1: missing column 'item' in header [user, product, rating]")
        }
    }

    func testCSVRowErrorsAndHalfStarScale() throws {
        let dir = try TempDir([
            "ratings.csv": bytes("userId,movieId,rating,timestamp\n1,1,4.5,10\n1,2,5.5,11\n1,3,4\n,4,3,12\nu,5,3,13\n")
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.report.rowsRead, 5)
        XCTAssertEqual(loaded.report.rowsKept, 1)
        XCTAssertEqual(loaded.report.dropped, ["rating_out_of_scale": 1, "wrong_field_count": 1, "bad_id": 2])
        XCTAssertEqual(
            loaded.report.examples,
            [
                "ratings.csv:3: rating 5.5 outside 0.5...5",
                "ratings.csv:4: expected 4 fields, found 3",
                "ratings.csv:5: invalid user id ''",
                "ratings.csv:6: invalid user id 'u'",
            ])
    }

    func testDuplicatesKeepLatestTimestampTiesGoToLaterRow() throws {
        let (loaded, strictError) = try load(
            """
            1\t1\t3\t5
            1\t1\t5\t9
            1\t1\t4\t9
            1\t1\t1\t7
            2\t1\t2\t1

            """)
        XCTAssertNil(strictError, "duplicates are not errors")
        XCTAssertEqual(loaded.report.duplicatesResolved, 3)
        XCTAssertEqual(loaded.report.rowsRead, 5)
        XCTAssertEqual(loaded.report.rowsKept, 2)
        let d = loaded.dataset
        XCTAssertEqual(d.interactionCount, 2)
        let row = (0..<2).first { d.users[$0] == 0 }!
        XCTAssertEqual(d.ratings[row], 4, "latest timestamp 9 twice: the later row wins")
        XCTAssertEqual(d.timestamps[row], 9)
    }

    func testCRLFAndMissingFinalNewline() throws {
        let (loaded, _) = try load("1\t1\t4\t100\r\n2\t1\t5\t101")
        XCTAssertEqual(loaded.report.rowsRead, 2)
        XCTAssertEqual(loaded.dataset.ratings, [4, 5])
        XCTAssertEqual(loaded.dataset.timestamps, [100, 101])
    }

    func testReportTextAndJSON() throws {
        let (loaded, _) = try load("1\t1\t4\t100\n1\t2\t7\t100\n1\t1\t4\t101\n")
        let report = loaded.report
        XCTAssertTrue(report.description.contains("u.data: 3 rows read, 1 kept, 1 dropped, 1 duplicates resolved"), report.description)
        XCTAssertTrue(report.description.contains("dropped rating_out_of_scale: 1"))
        let json = try report.jsonString()
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["rows_read"] as? Int, 3)
        XCTAssertEqual(object["rows_kept"] as? Int, 1)
        XCTAssertEqual(object["duplicates_resolved"] as? Int, 1)
        XCTAssertEqual(object["dropped"] as? [String: Int], ["rating_out_of_scale": 1])
        XCTAssertEqual(object["examples"] as? [String], ["u.data:2: rating 7 outside 1...5"])
        let decoded = try JSONDecoder().decode(ValidationReport.self, from: Data(json.utf8))
        XCTAssertEqual(decoded, report)
    }

    func testMetadataProblemsNeverDropInteractions() throws {
        let dir = try TempDir([
            "u.data": bytes("1\t1\t4\t100\n1\t2\t4\t100\n"),
            "u.item": uItemRow(1, bytes("Ok (1995)"), genres: [0]) + bytes("2|too|few\n") + bytes("x|Bad id|a|b|c|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"),
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.dataset.interactionCount, 2)
        XCTAssertEqual(loaded.report.metadataIssues, 2)
        XCTAssertEqual(loaded.report.examples, ["u.item:2: expected 24 fields, found 3", "u.item:3: invalid item id 'x'"])
        XCTAssertTrue(loaded.report.notes.contains("u.item: 1 rated items have no metadata row"))
    }

    func testFingerprintIsOrderIndependentAndContentSensitive() throws {
        let a = try load("1\t1\t4\t100\n2\t3\t5\t101\n3\t2\t1\t7\n").0.dataset
        let b = try load("3\t2\t1\t7\n1\t1\t4\t100\n2\t3\t5\t101\n").0.dataset
        let c = try load("1\t1\t4\t100\n2\t3\t5\t101\n3\t2\t2\t7\n").0.dataset
        XCTAssertEqual(a.fingerprint, b.fingerprint)
        XCTAssertNotEqual(a.fingerprint, c.fingerprint)
        XCTAssertEqual(a.fingerprint.count, 16)
        XCTAssertTrue(a.fingerprint.allSatisfy(\.isHexDigit))
    }
}
