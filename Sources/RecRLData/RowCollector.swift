/// Accumulates validated interaction rows, then de-duplicates and builds dense id maps.
struct RowCollector {
    let file: String
    let strict: Bool
    /// Declared scale; `nil` accepts any finite rating.
    let scale: ClosedRange<Float>?
    /// Ids are integers (MovieLens); otherwise arbitrary non-empty UTF-8 strings.
    let numericIDs: Bool

    var report: ValidationReport
    var userIndex: [Int64: Int32] = [:]
    var itemIndex: [Int64: Int32] = [:]
    var userStringIndex: [String: Int32] = [:]
    var itemStringIndex: [String: Int32] = [:]
    var userRaw: [String] = []
    var itemRaw: [String] = []
    var userNumeric: [Int64] = []
    var itemNumeric: [Int64] = []
    var users: [Int32] = []
    var items: [Int32] = []
    var ratings: [Float] = []
    var timestamps: [Int64] = []

    init(file: String, strict: Bool, scale: ClosedRange<Float>?, numericIDs: Bool) {
        self.file = file
        self.strict = strict
        self.scale = scale
        self.numericIDs = numericIDs
        self.report = ValidationReport(file: file)
    }

    mutating func reject(_ error: DataError) throws {
        if strict { throw error }
        report.recordDrop(error)
    }

    /// Validates and adds the scanner's current record.
    mutating func add(
        scanner sc: RecordScanner, user u: Int, item i: Int, rating r: Int, timestamp t: Int?,
        expectedFields: Int
    ) throws {
        let fields = sc.fields
        report.rowsRead += 1
        if fields.isEmpty {
            try reject(.wrongFieldCount(file: file, line: sc.line, expected: expectedFields, found: 0))
            return
        }
        guard fields.count == expectedFields else {
            try reject(.wrongFieldCount(file: file, line: sc.line, expected: expectedFields, found: fields.count))
            return
        }
        let userID: Int32, itemID: Int32
        if numericIDs {
            guard let uid = sc.int64(fields[u]) else {
                try reject(.nonNumericID(file: file, line: sc.line, field: "user", value: sc.excerpt(fields[u])))
                return
            }
            guard let iid = sc.int64(fields[i]) else {
                try reject(.nonNumericID(file: file, line: sc.line, field: "item", value: sc.excerpt(fields[i])))
                return
            }
            guard let rating = try checkRating(sc, fields[r]) else { return }
            guard let ts = try checkTimestamp(sc, t.map { fields[$0] }) else { return }
            userID = Self.intern(uid, &userIndex, &userNumeric)
            itemID = Self.intern(iid, &itemIndex, &itemNumeric)
            append(userID, itemID, rating, ts)
        } else {
            guard let us = try checkStringID(sc, fields[u], "user") else { return }
            guard let its = try checkStringID(sc, fields[i], "item") else { return }
            guard let rating = try checkRating(sc, fields[r]) else { return }
            guard let ts = try checkTimestamp(sc, t.map { fields[$0] }) else { return }
            userID = Self.intern(us, &userStringIndex, &userRaw)
            itemID = Self.intern(its, &itemStringIndex, &itemRaw)
            append(userID, itemID, rating, ts)
        }
    }

    @inline(__always)
    private mutating func append(_ u: Int32, _ i: Int32, _ r: Float, _ t: Int64) {
        users.append(u)
        items.append(i)
        ratings.append(r)
        timestamps.append(t)
    }

    private mutating func checkRating(_ sc: RecordScanner, _ f: FieldRange) throws -> Float? {
        guard let rating = sc.float(f), rating.isFinite else {
            try reject(.nonNumericRating(file: file, line: sc.line, value: sc.excerpt(f)))
            return nil
        }
        if let scale, !scale.contains(rating) {
            try reject(.ratingOutOfScale(file: file, line: sc.line, value: rating, scale: scale))
            return nil
        }
        return rating
    }

    private mutating func checkTimestamp(_ sc: RecordScanner, _ f: FieldRange?) throws -> Int64? {
        guard let f else { return 0 }
        guard let ts = sc.int64(f), ts >= 0 else {
            try reject(.badTimestamp(file: file, line: sc.line, value: sc.excerpt(f)))
            return nil
        }
        return ts
    }

    private mutating func checkStringID(_ sc: RecordScanner, _ f: FieldRange, _ field: String) throws -> String? {
        guard let s = sc.utf8String(f) else {
            try reject(.unreadableEncoding(file: file, line: sc.line, detail: "\(field) id is not valid UTF-8"))
            return nil
        }
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            try reject(.nonNumericID(file: file, line: sc.line, field: field, value: ""))
            return nil
        }
        return trimmed
    }

    @inline(__always)
    private static func intern<K: Hashable>(_ key: K, _ index: inout [K: Int32], _ raw: inout [K]) -> Int32 {
        if let v = index[key] { return v }
        let v = Int32(raw.count)
        index[key] = v
        raw.append(key)
        return v
    }

    /// De-duplicates, assigns dense indices in ascending raw-id order and builds the data set.
    mutating func finish(name: String) throws -> LoadedDataset {
        if report.rowsRead == 0 { throw DataError.emptyFile(file: file) }
        // Keep the latest row per (user, item); ties go to the later row.
        var winner = [UInt64: Int](minimumCapacity: users.count)
        var duplicates = 0
        for r in 0..<users.count {
            let key = UInt64(UInt32(bitPattern: users[r])) << 32 | UInt64(UInt32(bitPattern: items[r]))
            if let w = winner[key] {
                duplicates += 1
                if timestamps[r] >= timestamps[w] { winner[key] = r }
            } else {
                winner[key] = r
            }
        }
        var keep: [Int]
        if duplicates == 0 {
            keep = Array(0..<users.count)
        } else {
            keep = Array(winner.values)
            keep.sort()
        }
        report.duplicatesResolved = duplicates
        report.rowsKept = keep.count
        if keep.isEmpty { throw DataError.noInteractions(file: file) }

        // Dense indices ordered by raw id.
        let (userNames, userRemap) = numericIDs ? Self.order(userNumeric) : Self.order(userRaw)
        let (itemNames, itemRemap) = numericIDs ? Self.order(itemNumeric) : Self.order(itemRaw)
        var outU = [Int32](), outI = [Int32](), outR = [Float](), outT = [Int64]()
        outU.reserveCapacity(keep.count); outI.reserveCapacity(keep.count)
        outR.reserveCapacity(keep.count); outT.reserveCapacity(keep.count)
        for r in keep {
            outU.append(userRemap[Int(users[r])])
            outI.append(itemRemap[Int(items[r])])
            outR.append(ratings[r])
            outT.append(timestamps[r])
        }
        var observedScale: ClosedRange<Float> = 1...1
        if let lo = outR.min(), let hi = outR.max() { observedScale = lo...hi }
        let dataset = InteractionDataset(
            name: name, userMap: IDMap(rawIDs: userNames), itemMap: IDMap(rawIDs: itemNames),
            users: outU, items: outI, ratings: outR, timestamps: outT,
            ratingScale: scale ?? observedScale)
        // The loader sets the format it loaded with.
        return LoadedDataset(dataset: dataset, report: report, format: .auto)
    }

    /// Sorts raw ids and returns (sorted names, old index → new index).
    static func order(_ raw: [Int64]) -> ([String], [Int32]) {
        let perm = raw.indices.sorted { raw[$0] < raw[$1] }
        var remap = [Int32](repeating: 0, count: raw.count)
        for (newIndex, old) in perm.enumerated() { remap[old] = Int32(newIndex) }
        return (perm.map { String(raw[$0]) }, remap)
    }

    /// Sorts raw string ids (numerically if all are integers) and returns (names, remap).
    static func order(_ raw: [String]) -> ([String], [Int32]) {
        let numeric = raw.map { Int64($0) }
        let perm: [Int]
        if numeric.allSatisfy({ $0 != nil }) {
            perm = raw.indices.sorted { numeric[$0]! < numeric[$1]! }
        } else {
            perm = raw.indices.sorted { raw[$0] < raw[$1] }
        }
        var remap = [Int32](repeating: 0, count: raw.count)
        for (newIndex, old) in perm.enumerated() { remap[old] = Int32(newIndex) }
        return (perm.map { raw[$0] }, remap)
    }
}
