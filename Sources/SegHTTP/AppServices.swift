import Foundation
import Logging
import PostgresNIO
import SegAuth
import SegStorage

/// What the controllers work with: the repositories, the queue, the file store and the auth services.
///
/// One value per application, built by `buildApplication`; tests build it the same way against a test database.
public struct AppServices: Sendable {
    /// The configuration it was built from.
    public let configuration: ServerConfiguration
    /// The database.
    public let client: PostgresClient
    /// Content-addressed files under `SEG_DATA_DIR`.
    public let files: any ObjectStore
    /// Accounts.
    public let users: UserPostgresRepository
    /// Refresh tokens (hashes only).
    public let refreshTokens: RefreshTokenPostgresRepository
    /// Projects.
    public let projects: ProjectPostgresRepository
    /// Project members.
    public let members: ProjectMemberPostgresRepository
    /// Share links.
    public let shareLinks: ShareLinkPostgresRepository
    /// Images.
    public let images: ImagePostgresRepository
    /// Segmentation versions.
    public let segmentations: SegmentationPostgresRepository
    /// Export archives.
    public let exports: ExportPostgresRepository
    /// Who did what.
    public let audit: AuditLogPostgresRepository
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
        self.files = try LocalObjectStore(root: configuration.dataDirectory)
        self.users = UserPostgresRepository(client: client, logger: logger)
        self.refreshTokens = RefreshTokenPostgresRepository(client: client, logger: logger)
        self.projects = ProjectPostgresRepository(client: client, logger: logger)
        self.members = ProjectMemberPostgresRepository(client: client, logger: logger)
        self.shareLinks = ShareLinkPostgresRepository(client: client, logger: logger)
        self.images = ImagePostgresRepository(client: client, logger: logger)
        self.segmentations = SegmentationPostgresRepository(client: client, logger: logger)
        self.exports = ExportPostgresRepository(client: client, logger: logger)
        self.audit = AuditLogPostgresRepository(client: client, logger: logger)
        self.queue = JobQueue(client: client, configuration: jobQueue, logger: logger)
        self.passwords = PasswordHasher(cost: passwordCost)
        self.tokens = try await TokenService(
            keys: configuration.jwtKeys, activeKeyID: configuration.jwtActiveKeyID, issuer: configuration.jwtIssuer)
        self.logger = logger
        self.metrics = metrics
    }
}
