import Foundation

extension LoggedImpression {
    enum CodingKeys: String, CodingKey {
        case user, items, propensities, rewards, timestamp
        case requestID = "request_id", slatePropensity = "slate_propensity"
        case loggingPolicy = "logging_policy", modelVersion = "model_version"
    }

    /// The file name `recrl export-events` and `recrl generate` write impressions to.
    public static let fileName = "impressions.jsonl"

    /// Writes `impressions` as JSON lines (one object per line with the keys `request_id`,
    /// `user`, `items`, `propensities`, `slate_propensity`, `rewards`, `logging_policy`,
    /// `model_version`, `timestamp`), atomically.
    public static func writeJSONLines(_ impressions: [LoggedImpression], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for impression in impressions {
            data.append(try encoder.encode(impression))
            data.append(UInt8(ascii: "\n"))
        }
        try data.write(to: url, options: .atomic)
    }

    /// Reads a file written by ``writeJSONLines(_:to:)`` and validates every impression.
    /// - Throws: ``OffPolicyError/invalidLog(_:)`` naming the line of a malformed or
    ///   invalid impression.
    public static func readJSONLines(from url: URL) throws -> [LoggedImpression] {
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        var result: [LoggedImpression] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) {
            let impression: LoggedImpression
            do {
                impression = try decoder.decode(LoggedImpression.self, from: Data(line))
            } catch {
                throw OffPolicyError.invalidLog("\(url.lastPathComponent) line \(number + 1) is not an impression: \(error)")
            }
            do { try impression.validate() } catch {
                throw OffPolicyError.invalidLog("\(url.lastPathComponent) line \(number + 1): \(error)")
            }
            result.append(impression)
        }
        return result
    }
}
