import Logging
import SegStorage

extension AppServices {
    /// Repositories whose own log lines (a password changed, a refresh-token family revoked, a
    /// share link accepted, a project deleted) carry the request's logger and so its request id;
    /// the shared ones in `AppServices` log with the application's logger.
    func users(logging logger: Logger) -> UserPostgresRepository { UserPostgresRepository(client: client, logger: logger) }
    func refreshTokens(logging logger: Logger) -> RefreshTokenPostgresRepository {
        RefreshTokenPostgresRepository(client: client, logger: logger)
    }
    func shareLinks(logging logger: Logger) -> ShareLinkPostgresRepository { ShareLinkPostgresRepository(client: client, logger: logger) }
    func projects(logging logger: Logger) -> ProjectPostgresRepository { ProjectPostgresRepository(client: client, logger: logger) }
}
