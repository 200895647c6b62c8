import Foundation
import PostgresNIO

/// The queue's hot statements as prepared statements: each connection parses and plans them once, which is most
/// of a claim's or completion's cost on the server (the execution itself is an index probe).
enum JobStatements {
    struct Claim: PostgresPreparedStatement {
        static let sql = """
            UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_id = gen_random_uuid(),
                lease_until = now() + $1 * interval '1 millisecond', worker = $2, updated_at = now()
            WHERE id IN (
                SELECT id FROM jobs
                WHERE state = 'queued' AND run_at <= now() AND kind = ANY($3)
                ORDER BY fair_rank, created_at
                LIMIT $4
                FOR UPDATE SKIP LOCKED)
            RETURNING id, lease_id, kind, payload::text, attempt, max_attempts, user_id, project_id, image_id, created_at,
                priority, fair_rank
            """
        typealias Row = (UUID, UUID, String, String, Int32, Int32, UUID?, UUID?, UUID?, Date, Int32, Int64)

        var leaseMilliseconds: Int64
        var worker: String
        var kinds: [String]
        var limit: Int64

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(leaseMilliseconds)
            bindings.append(worker)
            bindings.append(kinds)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    struct Heartbeat: PostgresPreparedStatement {
        static let sql = """
            UPDATE jobs SET lease_until = now() + $1 * interval '1 millisecond', updated_at = now()
            WHERE id = $2 AND lease_id = $3 AND state = 'running' AND lease_until >= now()
            RETURNING true
            """
        typealias Row = Bool

        var leaseMilliseconds: Int64
        var lease: JobLease

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 3)
            bindings.append(leaseMilliseconds)
            bindings.append(lease.jobID)
            bindings.append(lease.leaseID)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Bool.self) }
    }

    struct Complete: PostgresPreparedStatement {
        static let sql = """
            UPDATE jobs SET state = 'succeeded', lease_id = NULL, lease_until = NULL, last_error = NULL,
                finished_at = now(), updated_at = now()
            WHERE id = $1 AND lease_id = $2 AND state = 'running' AND lease_until >= now()
            RETURNING true
            """
        typealias Row = Bool

        var lease: JobLease

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(lease.jobID)
            bindings.append(lease.leaseID)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Bool.self) }
    }

    /// Completes one job and claims the next in one statement (one round trip and one commit per job).
    struct CompleteAndClaim: PostgresPreparedStatement {
        static let sql = """
            WITH done AS (
                UPDATE jobs SET state = 'succeeded', lease_id = NULL, lease_until = NULL, last_error = NULL,
                    finished_at = now(), updated_at = now()
                WHERE id = $1 AND lease_id = $2 AND state = 'running' AND lease_until >= now()
                RETURNING id),
            next AS (
                UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_id = gen_random_uuid(),
                    lease_until = now() + $3 * interval '1 millisecond', worker = $4, updated_at = now()
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE state = 'queued' AND run_at <= now() AND kind = ANY($5)
                    ORDER BY fair_rank, created_at
                    LIMIT 1
                    FOR UPDATE SKIP LOCKED)
                RETURNING id, lease_id, kind, payload::text, attempt, max_attempts, user_id, project_id, image_id, created_at)
            SELECT (SELECT count(*) FROM done), next.* FROM (SELECT 1) AS one LEFT JOIN next ON true
            """
        typealias Row = (Int64, UUID?, UUID?, String?, String?, Int32?, Int32?, UUID?, UUID?, UUID?, Date?)

        var lease: JobLease
        var leaseMilliseconds: Int64
        var worker: String
        var kinds: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 5)
            bindings.append(lease.jobID)
            bindings.append(lease.leaseID)
            bindings.append(leaseMilliseconds)
            bindings.append(worker)
            bindings.append(kinds)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }
}
