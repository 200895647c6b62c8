import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

/// The constraints the schema promises, checked through `StorageError(mapping:)` as repositories will see them.
@Suite(.timeLimit(.minutes(5))) struct SchemaTests {
    @Test func emailsAreUniqueRegardlessOfCase() async throws {
        try await withTestDatabase { client in
            try await Self.insertUser(email: "Ada@Example.org", client: client)
            let error = await Self.storageError {
                try await Self.insertUser(email: "ada@example.ORG", client: client)
            }
            #expect(error == .conflict(constraint: "users_email_lower_key"))
        }
    }

    @Test func conflictDescriptionHasNoBindValues() async throws {
        try await withTestDatabase { client in
            try await Self.insertUser(email: "secret-address@example.org", client: client)
            let error = await Self.storageError {
                try await Self.insertUser(email: "SECRET-address@example.org", client: client)
            }
            let text = "\(error.map(String.init(describing:)) ?? "")"
            #expect(!text.isEmpty)
            #expect(!text.localizedCaseInsensitiveContains("secret-address"))
            #expect(!text.contains("INSERT"))
        }
    }

    @Test func accountRoleMustBeUserOrAdmin() async throws {
        try await withTestDatabase { client in
            let error = await Self.storageError {
                try await Self.insertUser(email: "root@example.org", role: "root", client: client)
            }
            #expect(error == .constraintViolation(constraint: "users_role_check"))
        }
    }

    @Test func projectRoleAndImageStatusAreChecked() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await Self.insertUser(email: "owner@example.org", client: client)
            let project = try await Self.insertProject(owner: user, client: client)

            // MUT + validate
            let badRole = await Self.storageError {
                try await client.query(
                    "INSERT INTO project_members (project_id, user_id, role) VALUES (\(project), \(user), 'superuser')"
                )
            }
            #expect(badRole == .constraintViolation(constraint: "project_members_role_check"))
            let badStatus = await Self.storageError {
                try await Self.insertImage(project: project, status: "done", client: client)
            }
            #expect(badStatus == .constraintViolation(constraint: "images_status_check"))
            let badJob = await Self.storageError {
                try await client.query("INSERT INTO jobs (kind, state) VALUES ('segment', 'paused')")
            }
            #expect(badJob == .constraintViolation(constraint: "jobs_state_check"))
        }
    }

    @Test func deletingAProjectCascadesToItsImagesAndSegmentations() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await Self.insertUser(email: "owner@example.org", client: client)
            let project = try await Self.insertProject(owner: user, client: client)
            try await client.query("INSERT INTO project_members (project_id, user_id, role) VALUES (\(project), \(user), 'owner')")
            let image = try await Self.insertImage(project: project, client: client)
            try await client.query(
                """
                INSERT INTO segmentations (image_id, version, polygons, segmenter, author_id)
                VALUES (\(image), 1, '[]'::jsonb, 'builtin', \(user))
                """
            )

            // MUT
            try await client.query("DELETE FROM projects WHERE id = \(project)")

            // validate
            for table in ["images", "segmentations", "project_members"] {
                let count = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table)"))
                    .collect().first?.decode(Int.self)
                #expect(count == 0, "\(table)")
            }
        }
    }

    @Test func segmentationVersionsAreUniquePerImage() async throws {
        try await withTestDatabase { client in
            let user = try await Self.insertUser(email: "owner@example.org", client: client)
            let project = try await Self.insertProject(owner: user, client: client)
            let image = try await Self.insertImage(project: project, client: client)
            let insert = { () async throws -> Void in
                try await client.query(
                    "INSERT INTO segmentations (image_id, version, polygons, segmenter) VALUES (\(image), 1, '[]'::jsonb, 'builtin')"
                )
            }
            try await insert()
            let error = await Self.storageError(insert)
            #expect(error == .conflict(constraint: "segmentations_image_id_version_key"))
        }
    }

    @Test func atMostOnePendingSegmentJobPerImage() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await Self.insertUser(email: "owner@example.org", client: client)
            let project = try await Self.insertProject(owner: user, client: client)
            let image = try await Self.insertImage(project: project, client: client)
            try await client.query("INSERT INTO jobs (kind, image_id, user_id) VALUES ('segment', \(image), \(user))")

            // MUT + validate: a second queued job conflicts; a running or finished one does not
            let error = await Self.storageError {
                try await client.query("INSERT INTO jobs (kind, image_id, user_id) VALUES ('segment', \(image), \(user))")
            }
            #expect(error == .conflict(constraint: "jobs_pending_segment_image_key"))
            try await client.query(
                """
                INSERT INTO jobs (kind, image_id, user_id, state, lease_id, lease_until)
                VALUES ('segment', \(image), \(user), 'running', gen_random_uuid(), now())
                """
            )
            try await client.query("INSERT INTO jobs (kind, image_id, user_id, state) VALUES ('segment', \(image), \(user), 'succeeded')")
            let leaseless = await Self.storageError {
                try await client.query("INSERT INTO jobs (kind, state) VALUES ('export', 'running')")
            }
            #expect(leaseless == .constraintViolation(constraint: "jobs_lease_check"))
            try await client.query("INSERT INTO jobs (kind, image_id, user_id) VALUES ('export', \(image), \(user))")
        }
    }

    @Test func unknownForeignKeyIsAnInvalidReference() async throws {
        try await withTestDatabase { client in
            let error = await Self.storageError {
                try await Self.insertProject(owner: UUID(), client: client)
            }
            #expect(error == .invalidReference(constraint: "projects_owner_id_fkey"))
        }
    }

    @Test(arguments: [
        "objects/ab/" + String(repeating: "0", count: 62),
        "AB" + String(repeating: "0", count: 62),
        String(repeating: "0", count: 63),
        "",
    ])
    func objectKeysMustBeBareLowercaseHex(key: String) async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await Self.insertUser(email: "owner@example.org", client: client)
            let project = try await Self.insertProject(owner: user, client: client)
            let image = try await Self.insertImage(project: project, client: client)

            // MUT + validate: every column that names a file-store object checks the form
            let original = await Self.storageError {
                try await Self.insertImage(project: project, objectKey: key, client: client)
            }
            #expect(original == .constraintViolation(constraint: "images_object_key_check"))
            let thumbnail = await Self.storageError {
                try await client.query("UPDATE images SET thumbnail_key = \(key) WHERE id = \(image)")
            }
            #expect(thumbnail == .constraintViolation(constraint: "images_thumbnail_key_check"))
            let archive = await Self.storageError {
                try await client.query(
                    """
                    INSERT INTO exports (project_id, formats, status, object_key, bytes, expires_at)
                    VALUES (\(project), ARRAY['coco'], 'done', \(key), 1, now())
                    """
                )
            }
            #expect(archive == .constraintViolation(constraint: "exports_object_key_check"))
        }
    }

    // MARK: - Helpers

    @discardableResult
    static func insertUser(email: String, role: String = "user", client: PostgresClient) async throws -> UUID {
        let rows = try await client.query(
            "INSERT INTO users (email, name, password_hash, role) VALUES (\(email), 'Test', 'hash', \(role)) RETURNING id"
        )
        return try #require(try await rows.collect().first?.decode(UUID.self))
    }

    @discardableResult
    static func insertProject(owner: UUID, client: PostgresClient) async throws -> UUID {
        let rows = try await client.query("INSERT INTO projects (owner_id, name) VALUES (\(owner), 'Spheroids') RETURNING id")
        return try #require(try await rows.collect().first?.decode(UUID.self))
    }

    /// A well-formed object key (64 lowercase hex digits) that names no stored content.
    static let someObjectKey = "ab" + String(repeating: "0", count: 62)

    @discardableResult
    static func insertImage(
        project: UUID,
        status: String = "new",
        objectKey: String = someObjectKey,
        client: PostgresClient
    ) async throws -> UUID {
        let rows = try await client.query(
            """
            INSERT INTO images (project_id, name, object_key, width, height, format, bytes, status)
            VALUES (\(project), 'a.png', \(objectKey), 64, 48, 'png', 1234, \(status)) RETURNING id
            """
        )
        return try #require(try await rows.collect().first?.decode(UUID.self))
    }

    /// The `StorageError` that `body` throws, or nil if it succeeds.
    static func storageError(_ body: () async throws -> Void) async -> StorageError? {
        do {
            try await body()
            return nil
        } catch {
            return StorageError(mapping: error)
        }
    }
}
