import Foundation
import Logging
import PostgresNIO
import SegAuth
import SegStorage

/// What the controllers work with: the database, the queue, the file store and the auth services.
///
/// One value per application, built by `buildApplication`; tests build it the same way against a test database.
public struct AppServices: Sendable {
    /// The configuration it was built from.
    public let configuration: ServerConfiguration
    /// The database.
    public let client: PostgresClient
    /// Content-addressed files under `SEG_DATA_DIR`.
    public let files: any ObjectStore
    /// The job queue.
    public let queue: JobQueue
    /// Password hashing.
    public let passwords: PasswordHasher
    /// Access tokens.
    public let tokens: TokenService
    /// The application's logger (requests use their context's).
    public let logger: Logger
    /// Prometheus metrics served at `/metrics`.
    public let metrics: AppMetrics
    /// The built-in segmenter and the registry's models.
    let segmenters: Segmenters
    /// The memory budget every image decode reserves from (`SEG_DECODE_MEMORY_BYTES`).
    let decodeBudget: DecodeBudget

    /// Builds the services for `configuration` on a client that the caller runs.
    /// - Parameters:
    ///   - configuration: The server configuration.
    ///   - client: A `PostgresClient` that is (or will be) running.
    ///   - passwordCost: bcrypt cost; 12 unless a test lowers it.
    ///   - jobQueue: Queue timing.
    ///   - metrics: Where counters and histograms go.
    ///   - logger: The application logger.
    public init(
        configuration: ServerConfiguration,
        client: PostgresClient,
        passwordCost: UInt8 = 12,
        jobQueue: JobQueueConfiguration = .init(),
        metrics: AppMetrics = AppMetrics(),
        logger: Logger
    ) async throws {
        self.configuration = configuration
        self.client = client
        self.files = try (configuration.objectStore ?? .file(dataDirectory: configuration.dataDirectory)).makeStore {
            [metrics] operation, result, duration in
            metrics.recordObjectStore(operation: operation, result: result, duration: duration)
        }
        self.queue = JobQueue(configuration: jobQueue)
        self.passwords = PasswordHasher(cost: passwordCost)
        self.tokens = try await TokenService(
            keys: configuration.jwtKeys, activeKeyID: configuration.jwtActiveKeyID, issuer: configuration.jwtIssuer)
        self.logger = logger
        self.metrics = metrics
        self.decodeBudget = DecodeBudget(capacity: configuration.decodeMemoryBytes)
        self.segmenters = Segmenters(
            registry: configuration.models, timeout: .seconds(Int64(configuration.inferenceTimeoutSeconds)), metrics: metrics,
            budget: decodeBudget)
    }

    /// The database, logging to `logger`: a request's or a job's, so that the statements it causes carry its ids.
    public func database(_ logger: Logger) -> Database {
        Database(client: client, logger: logger)
    }
}
