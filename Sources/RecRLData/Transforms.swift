/// A train/test split of one data set. Both halves share the source's id maps and side information.
public struct Split: Sendable {
    /// Training interactions.
    public var train: InteractionDataset
    /// Held-out interactions.
    public var test: InteractionDataset
    /// The strategy that produced the split.
    public var strategy: SplitStrategy

    /// Creates a split from its halves (they must share id maps).
    public init(train: InteractionDataset, test: InteractionDataset, strategy: SplitStrategy) {
        self.train = train
        self.test = test
        self.strategy = strategy
    }
}

/// How to split interactions into train and test.
public enum SplitStrategy: Sendable, Equatable, CustomStringConvertible {
    /// Per user, the latest `testFraction` of the user's interactions (by timestamp; ties by row
    /// order) go to test. `round(n × fraction)` rows are held out per user, at most `n − 1`, so
    /// every user keeps at least one training interaction. Deterministic (no randomness).
    case temporal(testFraction: Double)
    /// A uniformly random `round(N × fraction)` of all interactions go to test (seeded).
    case random(testFraction: Double)
    /// Per user, the last `n` interactions by timestamp go to test, if the user has more than `n`.
    case leaveLastOut(n: Int)
    /// One cut-off time for all users: the interactions after the cut-off go to test, so nothing
    /// in training happened after anything in test (no leakage from the future across users).
    /// The cut-off is the timestamp of the `(N − round(N × fraction))`-th interaction in time
    /// order; rows at the cut-off time stay in training, so ties never straddle the cut-off and
    /// the test share can fall below `fraction` when many rows share a timestamp. Users whose
    /// interactions all come after the cut-off have none in training. Deterministic.
    case globalTime(testFraction: Double)

    /// Short name as used by the CLI (`temporal`, `global-time`, `random`, `leave-last`).
    public var name: String {
        switch self {
        case .temporal: return "temporal"
        case .random: return "random"
        case .leaveLastOut: return "leave-last"
        case .globalTime: return "global-time"
        }
    }

    /// The CLI names ``init(name:testFraction:)`` accepts, in help order.
    public static let names = ["temporal", "global-time", "random", "leave-last"]

    /// The strategy named `name` (case-insensitive; `leave-last-out` is accepted for
    /// `leave-last`, which holds out one interaction per user and ignores `testFraction`),
    /// or `nil` for an unknown name.
    public init?(name: String, testFraction: Double) {
        switch name.lowercased() {
        case "temporal": self = .temporal(testFraction: testFraction)
        case "global-time": self = .globalTime(testFraction: testFraction)
        case "random": self = .random(testFraction: testFraction)
        case "leave-last", "leave-last-out": self = .leaveLastOut(n: 1)
        default: return nil
        }
    }

    /// The held-out fraction, or `nil` for leave-last-out.
    public var testFraction: Double? {
        switch self {
        case let .temporal(f), let .random(f), let .globalTime(f): return f
        case .leaveLastOut: return nil
        }
    }

    public var description: String {
        switch self {
        case let .temporal(f): return "temporal(test \(f))"
        case let .random(f): return "random(test \(f))"
        case let .leaveLastOut(n): return "leave-last-\(n)-out"
        case let .globalTime(f): return "global-time(test \(f))"
        }
    }
}

/// Filtering and splitting of interaction data sets.
public enum DatasetTransforms {
    /// Iterated k-core filtering: repeatedly removes users with fewer than `userMinimum` and items
    /// with fewer than `itemMinimum` interactions until every remaining user and item qualifies.
    ///
    /// The result has compacted id maps (only surviving users and items, in the same relative
    /// order) and correspondingly re-indexed side information.
    /// - Parameters:
    ///   - dataset: the source data set.
    ///   - userMinimum: minimum interactions per user (k).
    ///   - itemMinimum: minimum interactions per item (defaults to `userMinimum`).
    public static func kCore(_ dataset: InteractionDataset, userMinimum: Int, itemMinimum: Int? = nil) -> InteractionDataset {
        let itemMin = itemMinimum ?? userMinimum
        var alive = [Bool](repeating: true, count: dataset.interactionCount)
        while true {
            var uc = [Int](repeating: 0, count: dataset.userCount)
            var ic = [Int](repeating: 0, count: dataset.itemCount)
            for r in 0..<alive.count where alive[r] {
                uc[Int(dataset.users[r])] += 1
                ic[Int(dataset.items[r])] += 1
            }
            var changed = false
            for r in 0..<alive.count where alive[r] {
                if uc[Int(dataset.users[r])] < userMinimum || ic[Int(dataset.items[r])] < itemMin {
                    alive[r] = false
                    changed = true
                }
            }
            if !changed { break }
        }
        let rows = alive.indices.filter { alive[$0] }
        return compacted(dataset.subset(rows: rows))
    }

    /// Re-indexes a data set so that its id maps contain only users and items that occur in it.
    public static func compacted(_ dataset: InteractionDataset) -> InteractionDataset {
        var userNew = [Int32](repeating: -1, count: dataset.userCount)
        var itemNew = [Int32](repeating: -1, count: dataset.itemCount)
        for u in dataset.users { userNew[Int(u)] = 0 }
        for i in dataset.items { itemNew[Int(i)] = 0 }
        var userKeep: [Int] = [], itemKeep: [Int] = []
        for u in 0..<dataset.userCount where userNew[u] == 0 { userNew[u] = Int32(userKeep.count); userKeep.append(u) }
        for i in 0..<dataset.itemCount where itemNew[i] == 0 { itemNew[i] = Int32(itemKeep.count); itemKeep.append(i) }
        let info = dataset.itemInfo
        let itemInfo = ItemInfo(
            titles: itemKeep.map { info.titles[$0] }, genres: itemKeep.map { info.genres[$0] },
            genreNames: info.genreNames)
        var userInfo = UserInfo(userCount: userKeep.count)
        for (k, u) in userKeep.enumerated() {
            userInfo.ages[k] = dataset.userInfo.ages[u]
            userInfo.genders[k] = dataset.userInfo.genders[u]
            userInfo.occupations[k] = dataset.userInfo.occupations[u]
        }
        return InteractionDataset(
            name: dataset.name,
            userMap: IDMap(rawIDs: userKeep.map { dataset.userMap.rawIDs[$0] }),
            itemMap: IDMap(rawIDs: itemKeep.map { dataset.itemMap.rawIDs[$0] }),
            users: dataset.users.map { userNew[Int($0)] }, items: dataset.items.map { itemNew[Int($0)] },
            ratings: dataset.ratings, timestamps: dataset.timestamps,
            ratingScale: dataset.ratingScale, itemInfo: itemInfo, userInfo: userInfo)
    }

    /// Splits a data set.
    /// - Parameters:
    ///   - dataset: the source data set.
    ///   - strategy: the split strategy.
    ///   - rng: randomness for `.random` (temporal and leave-last-out ignore it).
    /// - Returns: train and test sharing the source's id maps; rows keep their source order.
    public static func split(
        _ dataset: InteractionDataset, strategy: SplitStrategy,
        using rng: inout some RandomNumberGenerator
    ) -> Split {
        var isTest = [Bool](repeating: false, count: dataset.interactionCount)
        switch strategy {
        case let .random(fraction):
            var order = Array(0..<dataset.interactionCount)
            order.shuffle(using: &rng)
            let nTest = Int((Double(order.count) * fraction).rounded())
            for r in order.prefix(max(0, min(order.count, nTest))) { isTest[r] = true }
        case let .temporal(fraction):
            for rows in chronologicalRowsByUser(dataset) {
                let nTest = min(Int((Double(rows.count) * fraction).rounded()), rows.count - 1)
                if nTest > 0 { for r in rows.suffix(nTest) { isTest[r] = true } }
            }
        case let .leaveLastOut(n):
            for rows in chronologicalRowsByUser(dataset) where rows.count > n && n > 0 {
                for r in rows.suffix(n) { isTest[r] = true }
            }
        case let .globalTime(fraction):
            let n = dataset.interactionCount
            let trainCount = n - max(0, min(n, Int((Double(n) * fraction).rounded())))
            if trainCount > 0 && trainCount < n {
                let cutoff = dataset.timestamps.sorted()[trainCount - 1]
                for r in 0..<n where dataset.timestamps[r] > cutoff { isTest[r] = true }
            }
        }
        var trainRows: [Int] = [], testRows: [Int] = []
        for r in 0..<isTest.count {
            if isTest[r] { testRows.append(r) } else { trainRows.append(r) }
        }
        return Split(train: dataset.subset(rows: trainRows), test: dataset.subset(rows: testRows), strategy: strategy)
    }

    /// Carves a validation split out of a training set with the same kind of strategy.
    ///
    /// The returned ``Split`` has `train` = the reduced training set and `test` = the validation
    /// set; use it for hyper-parameter selection and keep the original test set untouched.
    /// - Parameters:
    ///   - train: the training set of an existing split.
    ///   - strategy: how to carve validation rows (e.g. `.temporal(testFraction: 0.1)`).
    ///   - rng: randomness for `.random`.
    public static func validationSplit(
        of train: InteractionDataset, strategy: SplitStrategy,
        using rng: inout some RandomNumberGenerator
    ) -> Split {
        split(train, strategy: strategy, using: &rng)
    }

    /// Row indices grouped by user (one group per user index), each group sorted by
    /// (timestamp, row): every user's interactions in time order, ties in file order.
    public static func chronologicalRowsByUser(_ dataset: InteractionDataset) -> [[Int]] {
        var groups = dataset.rowsByUser()
        let ts = dataset.timestamps
        for u in groups.indices where groups[u].count > 1 {
            groups[u].sort { ts[$0] != ts[$1] ? ts[$0] < ts[$1] : $0 < $1 }
        }
        return groups
    }
}
