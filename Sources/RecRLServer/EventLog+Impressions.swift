import Foundation
import GRDB
import RecRLEvaluation

/// One served recommendation as stored in the ``EventLog``: the slate, the probability the
/// serving policy had of showing it, and who served it. Feedback events about the slate
/// carry its ``requestID``.
public struct ImpressionRecord: Sendable, Codable, Equatable {
    /// Row id, increasing in insertion order (`nil` before the impression is stored).
    public var id: Int64?
    /// Unique id of the recommendation, returned to the client as `request_id`.
    public var requestID: String
    /// The user the slate was served to.
    public var user: String
    /// The slate, top first.
    public var items: [String]
    /// Marginal probability of each item at its position under ``servingPolicy``.
    public var propensities: [Double]
    /// Probability of the whole slate under ``servingPolicy``.
    public var slatePropensity: Double
    /// ``ServingPolicy/description`` of the policy that drew the slate.
    public var servingPolicy: String
    /// The version of the model that ranked the slate.
    public var modelVersion: String
    /// The A/B arm, or `"single"`.
    public var arm: String
    /// When the slate was served.
    public var timestamp: Date

    /// An impression; `id` is assigned by ``EventLog/recordImpression(_:)``.
    public init(
        id: Int64? = nil, requestID: String, user: String, items: [String], propensities: [Double],
        slatePropensity: Double, servingPolicy: String, modelVersion: String, arm: String, timestamp: Date
    ) {
        self.id = id; self.requestID = requestID; self.user = user; self.items = items
        self.propensities = propensities; self.slatePropensity = slatePropensity; self.servingPolicy = servingPolicy
        self.modelVersion = modelVersion; self.arm = arm; self.timestamp = timestamp
    }
}

extension ImpressionRecord {
    /// The `items` and `propensities` columns of a stored impression: JSON arrays, top of
    /// the slate first (the encoding every event log store uses).
    public func encodedSlate() throws -> (items: String, propensities: String) {
        (
            String(decoding: try JSONEncoder().encode(items), as: UTF8.self),
            String(decoding: try JSONEncoder().encode(propensities), as: UTF8.self)
        )
    }

    /// An impression read back from a store, decoding the columns of ``encodedSlate()``.
    /// - Throws: `DecodingError` when a column is not a JSON array of the right type.
    public init(
        id: Int64?, requestID: String, user: String, encodedItems: String, encodedPropensities: String,
        slatePropensity: Double, servingPolicy: String, modelVersion: String, arm: String, timestamp: Date
    ) throws {
        self.init(
            id: id, requestID: requestID, user: user,
            items: try JSONDecoder().decode([String].self, from: Data(encodedItems.utf8)),
            propensities: try JSONDecoder().decode([Double].self, from: Data(encodedPropensities.utf8)),
            slatePropensity: slatePropensity, servingPolicy: servingPolicy, modelVersion: modelVersion,
            arm: arm, timestamp: timestamp)
    }
}

extension EventLog {
    /// Migration `v3-impressions` (SQLite): the `request_id` column of `events` and the
    /// `impressions` table. `items` and `propensities` are JSON arrays (top of the slate
    /// first), so one row holds one slate; another store keeping "the same schema" needs
    /// the same columns.
    public static let impressionsSchema = """
        ALTER TABLE events ADD COLUMN request_id TEXT;
        CREATE INDEX events_request_id ON events(request_id);
        CREATE TABLE impressions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL UNIQUE,
            user TEXT NOT NULL,
            items TEXT NOT NULL,
            propensities TEXT NOT NULL,
            slate_propensity REAL NOT NULL,
            serving_policy TEXT NOT NULL,
            model_version TEXT NOT NULL,
            arm TEXT NOT NULL,
            timestamp REAL NOT NULL
        );
        """

    /// Appends `impression` durably: the write is committed (WAL, `synchronous = FULL`)
    /// before this returns. A failed write marks the log failing (``isWritable``) and
    /// rethrows GRDB's error (log it, do not show it to clients).
    @discardableResult
    public func recordImpression(_ impression: ImpressionRecord) async throws -> ImpressionRecord {
        let (items, propensities) = try impression.encodedSlate()
        return try await health.tracking {
            let id = try await pool.write { db -> Int64 in
                try db.execute(
                    sql: """
                        INSERT INTO impressions (request_id, user, items, propensities, slate_propensity, serving_policy,
                                                 model_version, arm, timestamp)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        impression.requestID, impression.user, items, propensities, impression.slatePropensity,
                        impression.servingPolicy, impression.modelVersion, impression.arm,
                        impression.timestamp.timeIntervalSince1970,
                    ])
                return db.lastInsertedRowID
            }
            var stored = impression
            stored.id = id
            return stored
        }
    }

    /// Number of stored impressions.
    public func impressionCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM impressions") ?? 0 }
    }

    /// All impressions in insertion order.
    public func impressions() throws -> [ImpressionRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM impressions ORDER BY id").map { row in
                let seconds: Double = row["timestamp"]
                return try ImpressionRecord(
                    id: row["id"], requestID: row["request_id"], user: row["user"],
                    encodedItems: row["items"], encodedPropensities: row["propensities"],
                    slatePropensity: row["slate_propensity"], servingPolicy: row["serving_policy"],
                    modelVersion: row["model_version"], arm: row["arm"], timestamp: Date(timeIntervalSince1970: seconds))
            }
        }
    }

    /// The impressions as logged bandit feedback for off-policy evaluation: each slate
    /// item's reward is that of the last feedback event with the impression's `request_id`
    /// and that item (0 when there is none). Feedback without a `request_id` is not used.
    public func loggedImpressions() throws -> [LoggedImpression] {
        let stored = try impressions()
        var rewards: [String: [String: Double]] = [:]
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT request_id, item, reward FROM events WHERE request_id IS NOT NULL ORDER BY id")
            while let row = try rows.next() {
                let request: String = row["request_id"], item: String = row["item"], reward: Double = row["reward"]
                rewards[request, default: [:]][item] = reward
            }
        }
        return stored.map { x in
            let given = rewards[x.requestID] ?? [:]
            return LoggedImpression(
                requestID: x.requestID, user: x.user, items: x.items, propensities: x.propensities,
                slatePropensity: x.slatePropensity, rewards: x.items.map { given[$0] ?? 0 },
                loggingPolicy: x.servingPolicy, modelVersion: x.modelVersion,
                timestamp: x.timestamp.timeIntervalSince1970)
        }
    }
}
