import Foundation
import Logging
import PostgresNIO

/// What one installation holds, counted in one statement: what `segctl stats` prints.
public struct InstallationTotals: Sendable, Equatable, Codable {
    /// Accounts, of which `admins` are administrators and `disabledUsers` disabled.
    public var users: Int
    public var admins: Int
    public var disabledUsers: Int
    /// Projects.
    public var projects: Int
    /// Images by status.
    public var images: ImageStatusCounts
    /// The images' sizes summed (an object shared by several images counts each time).
    public var imageBytes: Int64
    /// Stored segmentation versions.
    public var segmentations: Int

    /// Counts everything in one statement, so the figures belong to one moment.
    public static func read(on database: Database) async throws(StorageError) -> InstallationTotals {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE role = 'admin'),
                    (SELECT count(*) FROM users WHERE disabled_at IS NOT NULL), (SELECT count(*) FROM projects),
                    (SELECT coalesce(sum(bytes), 0)::int8 FROM images), (SELECT count(*) FROM segmentations),
                    (SELECT coalesce(json_object_agg(status, n), '{}')::text
                     FROM (SELECT status, count(*) AS n FROM images GROUP BY status) AS s)
                """)
            var totals = InstallationTotals(
                users: 0, admins: 0, disabledUsers: 0, projects: 0, images: ImageStatusCounts(), imageBytes: 0, segmentations: 0)
            for try await (users, admins, disabled, projects, bytes, segmentations, statuses) in rows.decode(
                (Int64, Int64, Int64, Int64, Int64, Int64, String).self)
            {
                totals.users = Int(users)
                totals.admins = Int(admins)
                totals.disabledUsers = Int(disabled)
                totals.projects = Int(projects)
                totals.imageBytes = bytes
                totals.segmentations = Int(segmentations)
                let counts = try JSONDecoder().decode([String: Int].self, from: Data(statuses.utf8))
                for (status, count) in counts {
                    if let status = ImageStatus(rawValue: status) { totals.images[status] = count }
                }
            }
            return totals
        }
    }
}
