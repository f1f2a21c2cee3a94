import Foundation
import XCTest

/// Creates a fresh temporary directory holding the given files (name → bytes); removed at teardown.
final class TempDir {
    let path: String

    init(_ files: [String: [UInt8]] = [:]) throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("recrl-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, bytes) in files { try write(name, bytes) }
    }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// UTF-8 bytes of a string.
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A u.item row with the given genre flag indices set.
func uItemRow(_ id: Int, _ title: [UInt8], genres: [Int]) -> [UInt8] {
    var flags = [String](repeating: "0", count: 19)
    for g in genres { flags[g] = "1" }
    return bytes("\(id)|") + title + bytes("|01-Jan-1995||http://example.invalid/|" + flags.joined(separator: "|") + "\n")
}
