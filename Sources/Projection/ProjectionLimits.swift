/// Tunables of the projection framework, with units last.
public enum ProjectionLimits {
    /// Events per transaction while following the log: large enough that commits (an fsync
    /// each under WAL) do not dominate, small enough that a crash re-applies little.
    public static let catchUpBatchEvents = 10_000
    /// Events read from a store behind the seam at a time (and so, at most, per transaction when a
    /// model follows one): bounds the memory a rebuild holds between the read and the apply.
    public static let storeReadEventsMax = 10_000
    /// Events per transaction while rebuilding into a fresh file, where a crash discards the
    /// whole file anyway and commits cost no fsync.
    public static let rebuildBatchEvents = 100_000
    /// SQLite page cache of a model being rebuilt: the whole model should fit, since a rebuild
    /// touches every page and the keys start with the org, so inserts land all over the b-trees.
    public static let rebuildCacheBytes = 512 << 20
    /// SQLite page cache of a live model's writer.
    public static let catchUpCacheBytes = 64 << 20
    /// Rows per index ANALYZE samples at the end of a rebuild.
    public static let analysisRowsMax = 1000
    /// How long a writer waits for another process's write lock on a model file.
    public static let busyTimeoutSeconds = 30.0
    /// Stack of each thread a blocking catch-up or rebuild runs on.
    public static let workerStackBytes = 4 << 20
    /// How often progress is logged during a long catch-up.
    public static let progressIntervalSeconds = 2.0
    /// How many skipped (undecodable) events are logged one by one before only counting.
    public static let skippedEventsLoggedMax = 20
    /// How long `follow` waits before looking at the log again when nothing new arrived.
    public static let followPollMilliseconds = 100
}
