/// A bijection between raw (file) ids and dense indices `0..<count`.
///
/// Models work on dense indices; the map is kept so results can be reported with the
/// original ids. Train and test splits share the same maps.
public struct IDMap: Sendable, Equatable {
    /// Raw ids in index order: `rawIDs[i]` is the raw id of index `i`.
    public let rawIDs: [String]
    private let lookup: [String: Int]

    /// Creates a map from raw ids in index order.
    /// - Parameter rawIDs: distinct raw ids; index `i` is assigned to `rawIDs[i]`.
    public init(rawIDs: [String]) {
        self.rawIDs = rawIDs
        var lookup = [String: Int](minimumCapacity: rawIDs.count)
        for (i, raw) in rawIDs.enumerated() { lookup[raw] = i }
        self.lookup = lookup
    }

    /// Number of ids.
    public var count: Int { rawIDs.count }

    /// The dense index of a raw id, or `nil` if unknown.
    public func index(of raw: String) -> Int? { lookup[raw] }

    /// The raw id of a dense index.
    public func rawID(of index: Int) -> String { rawIDs[index] }

    public static func == (lhs: IDMap, rhs: IDMap) -> Bool { lhs.rawIDs == rhs.rawIDs }
}
