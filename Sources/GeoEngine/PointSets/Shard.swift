import Foundation

/// One slice of a piece of work split across processes or machines: shard `index` of `count`
/// (1-based, as Slurm array tasks and `geo.shard()` number them).
///
/// Work is a list of items numbered 0 ..< n (the pairs of a distance matrix in row-major order,
/// the edges of a graph, the samples of a sweep). Shard i of n takes the items whose number q
/// has q mod n = i - 1: every item belongs to exactly one shard, the slices are the same on
/// every machine (they depend on nothing but n, i and the item numbering), and costly items
/// that cluster in one region of the numbering (long geodesics between far rows) spread over
/// all shards. The union of the slices' results is the unsharded result exactly: each item is
/// computed by the same code from the same inputs.
public struct Shard: Equatable, CustomStringConvertible {
    /// 1 ... count.
    public let index: Int
    /// The number of shards, >= 1.
    public let count: Int

    /// The largest accepted number of shards.
    public static let maxCount = 1_000_000

    /// `GeoError.invalidArgument` unless 1 <= index <= count <= `maxCount`.
    public init(index: Int, count: Int) throws {
        try Setting.integer("shards", count, in: 1...Shard.maxCount)
        try Setting.integer("shard", index, in: 1...count)
        self.index = index; self.count = count
    }

    private init(unchecked index: Int, _ count: Int) { self.index = index; self.count = count }

    /// The whole work (shard 1 of 1).
    public static let all = Shard(unchecked: 1, 1)

    /// Whether item q (0-based) is in this slice.
    public func owns(_ q: Int) -> Bool { q % count == index - 1 }

    /// The items of 0 ..< n in this slice, in increasing order.
    public func items(_ n: Int) -> StrideTo<Int> { stride(from: index - 1, to: max(0, n), by: count) }

    public var description: String { "\(index)/\(count)" }

    /// The shard named by the environment of a batch scheduler, or nil when none is set:
    ///  1. GEO_SHARD = "i/n" (explicit: wins over the others);
    ///  2. Slurm array jobs: SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or with
    ///     SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX (index = ID - MIN + 1, count = MAX - MIN
    ///     + 1; an array with a step, --array=0-9:2, is not a contiguous numbering: use GEO_SHARD);
    ///  3. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (0-based) with GEO_SHARDS (the Job's
    ///     `completions`, which Kubernetes does not export: set it in the pod template).
    /// A variable that is set but malformed, or an index outside the count, is
    /// `GeoError.invalidArgument` naming it.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        func integer(_ name: String) throws -> Int? {
            guard let text = env[name] else { return nil }
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw GeoError.invalidArgument("\(name) is '\(untrusted: text)', expected an integer")
            }
            return v
        }
        func make(_ index: Int, _ count: Int, _ source: String) throws -> Shard {
            do { return try Shard(index: index, count: count) } catch {
                throw GeoError.invalidArgument("\(source) gives shard \(index) of \(count): expected 1 <= shard <= shards")
            }
        }
        if let text = env["GEO_SHARD"] {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
                  let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
                throw GeoError.invalidArgument("GEO_SHARD is '\(untrusted: text)', expected \"i/n\" (e.g. \"2/4\")")
            }
            return try make(i, n, "GEO_SHARD")
        }
        if let id = try integer("SLURM_ARRAY_TASK_ID") {
            if let count = try integer("SLURM_ARRAY_TASK_COUNT") {
                let lowest = try integer("SLURM_ARRAY_TASK_MIN") ?? 0
                return try make(id - lowest + 1, count, "SLURM_ARRAY_TASK_ID \(id) (min \(lowest)) of SLURM_ARRAY_TASK_COUNT")
            }
            guard let lowest = try integer("SLURM_ARRAY_TASK_MIN"), let highest = try integer("SLURM_ARRAY_TASK_MAX") else {
                throw GeoError.invalidArgument("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MIN/MAX")
            }
            return try make(id - lowest + 1, highest - lowest + 1, "SLURM_ARRAY_TASK_ID \(id) of \(lowest)-\(highest)")
        }
        if let index = try integer("JOB_COMPLETION_INDEX") {
            guard let count = try integer("GEO_SHARDS") else {
                throw GeoError.invalidArgument("JOB_COMPLETION_INDEX is set without GEO_SHARDS (set it to the Job's completions)")
            }
            return try make(index + 1, count, "JOB_COMPLETION_INDEX \(index) of GEO_SHARDS")
        }
        return nil
    }

    /// The values of items 0 ..< count from every shard's slice (each shard of one split once, in
    /// any order; slice values in item order): the unsharded list. Errors name the shard that is
    /// missing, repeated, of another split or of the wrong length.
    public static func join(_ slices: [(shard: Shard, values: [Double])], count: Int) throws -> [Double] {
        guard let first = slices.first else { throw GeoError.invalidArgument("nothing to merge") }
        let n = first.shard.count
        var out = [Double](repeating: .nan, count: count)
        var have = Set<Int>()
        for s in slices {
            guard s.shard.count == n else { throw GeoError.invalidArgument("shard \(s.shard) is of another split than shard \(first.shard)") }
            guard have.insert(s.shard.index).inserted else { throw GeoError.invalidArgument("shard \(s.shard) is given twice") }
            let mine = Array(s.shard.items(count))
            guard mine.count == s.values.count else {
                throw GeoError.invalidArgument("shard \(s.shard) has \(s.values.count) values, expected \(mine.count)")
            }
            for (q, v) in zip(mine, s.values) { out[q] = v }
        }
        let missing = (1...n).filter { !have.contains($0) }
        guard missing.isEmpty else {
            throw GeoError.invalidArgument("shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(n)" }.joined(separator: ", ")) missing")
        }
        return out
    }
}
