import Foundation
import XCTest
@testable import RecRLData

final class LoaderTests: XCTestCase {
    // MARK: Formats

    func testML100KWithLatin1TitlesGenresAndUsers() throws {
        let dir = try TempDir([
            "u.data": bytes("10\t2\t5\t881250949\n1\t2\t3\t881250950\n1\t7\t4\t881250951\n"),
            "u.item": uItemRow(2, bytes("Caf") + [0xE9] + bytes(" (1995)"), genres: [5, 8])
                + uItemRow(7, bytes("Heat (1995)"), genres: [1]),
            "u.user": bytes("1|24|M|technician|85711\n10|53|F|other|94043\n"),
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.format, .ml100k)
        let d = loaded.dataset
        XCTAssertEqual(d.userMap.rawIDs, ["1", "10"], "users are indexed in numeric id order")
        XCTAssertEqual(d.itemMap.rawIDs, ["2", "7"])
        XCTAssertEqual(d.interactionCount, 3)
        XCTAssertEqual(d.ratingScale, 1...5)
        XCTAssertEqual(d.users, [1, 0, 0])
        XCTAssertEqual(d.items, [0, 0, 1])
        XCTAssertEqual(d.ratings, [5, 3, 4])
        XCTAssertEqual(d.timestamps, [881250949, 881250950, 881250951])
        XCTAssertEqual(d.itemInfo.titles, ["Café (1995)", "Heat (1995)"])
        XCTAssertEqual(d.itemInfo.genres, [[5, 8], [1]])
        XCTAssertEqual(d.itemInfo.genreNames[5], "Comedy")
        XCTAssertEqual(d.userInfo.ages, [24, 53])
        XCTAssertEqual(d.userInfo.genders, ["M", "F"])
        XCTAssertEqual(d.userInfo.occupations, ["technician", "other"])
        XCTAssertEqual(loaded.report.rowsRead, 3)
        XCTAssertEqual(loaded.report.rowsKept, 3)
        XCTAssertTrue(loaded.report.dropped.isEmpty)
    }

    func testML1MDoubleColonLatin1() throws {
        let dir = try TempDir([
            "ratings.dat": bytes("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"),
            "movies.dat": bytes("1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n")
                + bytes("3::Pok") + [0xE9] + bytes("mon::Animation\n"),
            "users.dat": bytes("1::F::1::10::48067\n2::M::56::16::70072\n"),
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.format, .ml1m)
        let d = loaded.dataset
        XCTAssertEqual(d.itemMap.rawIDs, ["661", "1193"])
        XCTAssertEqual(d.itemInfo.genreNames, ["Animation", "Children's", "Drama", "Musical"])
        XCTAssertEqual(d.itemInfo.genres, [[0, 1, 3], [2]])
        XCTAssertEqual(d.itemInfo.titles[1], "One Flew Over the Cuckoo's Nest (1975)")
        XCTAssertEqual(d.userInfo.genders, ["F", "M"])
        XCTAssertEqual(d.userInfo.ages, [1, 56])
        XCTAssertEqual(d.userInfo.occupations, ["10", "16"])
    }

    func testMLLatestHalfStarsAndQuotedTitles() throws {
        let dir = try TempDir([
            "ratings.csv": bytes("userId,movieId,rating,timestamp\r\n1,11,4.5,964982703\r\n1,2,0.5,964981247\r\n2,11,5.0,964982224\r\n"),
            "movies.csv": bytes(
                "movieId,title,genres\n2,Jumanji (1995),Adventure|Children|Fantasy\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n12,\"Say \"\"Hi\"\", Bob (2001)\",(no genres listed)\n"
            ),
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.format, .mlLatest)
        let d = loaded.dataset
        XCTAssertEqual(d.ratingScale, 0.5...5)
        XCTAssertEqual(d.ratings, [4.5, 0.5, 5.0])
        XCTAssertEqual(d.itemMap.rawIDs, ["2", "11"])
        XCTAssertEqual(d.itemInfo.titles, ["Jumanji (1995)", "American President, The (1995)"])
        XCTAssertEqual(d.itemInfo.genreNames, ["Adventure", "Children", "Comedy", "Drama", "Fantasy", "Romance"])
        XCTAssertEqual(d.itemInfo.genres, [[0, 1, 4], [2, 3, 5]])
        XCTAssertEqual(loaded.report.metadataIssues, 0)
    }

    func testMoviesCSVFallsBackToLatin1ForInvalidUTF8Titles() throws {
        let dir = try TempDir([
            "ratings.csv": bytes("userId,movieId,rating,timestamp\n1,1,3.5,1\n1,2,4,2\n"),
            "movies.csv": bytes("movieId,title,genres\n1,Am") + [0xE9] + bytes("lie (2001),Comedy\n2,\"Caf\u{E9}, Le (1990)\",Drama\n"),
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.dataset.itemInfo.titles, ["Amélie (2001)", "Café, Le (1990)"])
        XCTAssertTrue(loaded.report.notes.contains("movies.csv: 1 titles were not valid UTF-8 and were decoded as Latin-1"))
    }

    func testQuotedFieldWithEscapesAndNewline() throws {
        let dir = try TempDir([
            "interactions.csv": bytes("user,item,rating\n\"a, \"\"x\"\"\",i1,3\n\"multi\nline\",i2,4\nb,i1,2\n")
        ])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.dataset.userMap.rawIDs.sorted(), ["a, \"x\"", "b", "multi\nline"])
        XCTAssertEqual(loaded.report.rowsRead, 3)
        XCTAssertEqual(loaded.report.rowsKept, 3)
    }

    func testGenericCSVWithConfiguredColumnsAndNoTimestamp() throws {
        let dir = try TempDir([
            "clicks.csv": bytes("ts,who,what,score\n5,alice,book,1\n6,bob,book,0.25\n7,alice,pen,1\n")
        ])
        let options = LoadOptions(ratingScale: 0...1, csvColumns: CSVColumns(user: "who", item: "what", rating: "score", timestamp: "ts"))
        let loaded = try DatasetLoader.load(directory: dir.path, format: .auto, options: options)
        XCTAssertEqual(loaded.format, .csv)
        let d = loaded.dataset
        XCTAssertEqual(d.userMap.rawIDs, ["alice", "bob"])
        XCTAssertEqual(d.itemMap.rawIDs, ["book", "pen"])
        XCTAssertEqual(d.timestamps, [5, 6, 7])
        XCTAssertEqual(d.ratingScale, 0...1)

        // Without a timestamp column, timestamps are 0 and the scale is the observed range.
        let dir2 = try TempDir(["interactions.csv": bytes("user,item,rating\nu1,i1,2\nu2,i1,7\n")])
        let d2 = try DatasetLoader.load(directory: dir2.path).dataset
        XCTAssertEqual(d2.timestamps, [0, 0])
        XCTAssertEqual(d2.ratingScale, 2...7)

        // A path to a .csv file is accepted directly.
        let d3 = try DatasetLoader.load(directory: dir2.file("interactions.csv")).dataset
        XCTAssertEqual(d3.interactionCount, 2)
    }

    func testInvalidUTF8InCSVIDIsDroppedWithEncodingReason() throws {
        let dir = try TempDir(["interactions.csv": bytes("user,item,rating\nu1,i1,2\nu") + [0xE9] + bytes(",i1,3\n")])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.report.dropped, ["bad_encoding": 1])
        XCTAssertEqual(loaded.report.examples, ["interactions.csv:3: unreadable encoding (user id is not valid UTF-8)"])
    }

    // MARK: Detection

    func testAutoDetection() throws {
        let cases: [([String: [UInt8]], DatasetFormat)] = [
            (["u.data": bytes("1\t1\t1\t1\n")], .ml100k),
            (["ratings.dat": bytes("x")], .ml1m),
            (["ratings.csv": bytes("x")], .mlLatest),
            (["interactions.csv": bytes("x"), "other.csv": bytes("y")], .csv),
            (["mine.csv": bytes("x"), "README": bytes("y")], .csv),
        ]
        for (files, expected) in cases {
            let dir = try TempDir(files)
            XCTAssertEqual(try DatasetLoader.detectFormat(directory: dir.path), expected, "\(files.keys.sorted())")
        }
        let ambiguous = try TempDir(["a.csv": bytes("x"), "b.csv": bytes("y")])
        XCTAssertThrowsError(try DatasetLoader.detectFormat(directory: ambiguous.path)) { error in
            guard case .cannotDetectFormat = error as? DataError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try DatasetLoader.load(directory: "/nonexistent/recrl-\(UUID().uuidString)")) { error in
            XCTAssertTrue("\(error)".hasPrefix("data directory not found: /nonexistent/"), "\(error)")
        }
    }

    func testMissingRequiredFileForExplicitFormat() throws {
        let dir = try TempDir(["ratings.csv": bytes("userId,movieId,rating,timestamp\n1,1,4,1\n")])
        XCTAssertThrowsError(try DatasetLoader.load(directory: dir.path, format: .ml100k)) { error in
            XCTAssertEqual(error as? DataError, .missingFile(path: dir.file("u.data")))
            XCTAssertEqual("\(error)", "required file not found: \(dir.file("u.data"))")
        }
    }

    func testMissingMetadataIsANoteNotAnError() throws {
        let dir = try TempDir(["u.data": bytes("1\t1\t4\t10\n")])
        let loaded = try DatasetLoader.load(directory: dir.path)
        XCTAssertEqual(loaded.dataset.itemInfo.titles, [""])
        XCTAssertTrue(loaded.report.notes.contains("u.item not found: no item titles or genres"))
    }
}
