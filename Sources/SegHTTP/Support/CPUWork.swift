import NIOCore
import NIOPosix

/// The thread pool for CPU work outside segmentation (checking and measuring polygons, decoding uploads and making their
/// thumbnails, building export archives): its own threads, so that such work queues behind its own kind and never in
/// front of password hashing, which stays on `NIOThreadPool.singleton`. The operating system shares the cores between
/// the two pools' threads, so a sign-in keeps making progress while large edits are checked. Like NIO's singletons, it
/// lives as long as the process.
enum CPUWork {
    /// As many threads as cores.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()
}
