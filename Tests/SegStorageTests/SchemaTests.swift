import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

/// The constraints the schema promises, checked through `StorageError(mapping:)` as repositories will see them.
@Suite(.timeLimit(.minutes(5))) struct SchemaTests {
    @Test func emailsAreUniqueRegardlessOfCase() async throws {
        try await withTestDatabase { client in
            try await insertUser(email: "Ada@Example.org", client: client)
            let error = try await storageError(fromSQL: true) {
                try await insertUser(email: "ada@example.ORG", client: client)
            }
            #expect(error == .conflict(constraint: "users_email_lower_key"))
        }
    }

    @Test func conflictDescriptionHasNoBindValues() async throws {
        try await withTestDatabase { client in
            try await insertUser(email: "secret-address@example.org", client: client)
            let error = try await storageError(fromSQL: true) {
                try await insertUser(email: "SECRET-address@example.org", client: client)
            }
            let text = "\(error.map(String.init(describing:)) ?? "")"
            #expect(!text.isEmpty)
            #expect(!text.localizedCaseInsensitiveContains("secret-address"))
            #expect(!text.contains("INSERT"))
        }
    }

    @Test func accountRoleMustBeUserOrAdmin() async throws {
        try await withTestDatabase { client in
            let error = try await storageError(fromSQL: true) {
                try await insertUser(email: "root@example.org", role: "root", client: client)
            }
            #expect(error == .constraintViolation(constraint: "users_role_check"))
        }
    }

    @Test func projectRoleAndImageStatusAreChecked() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)

            // MUT + validate
            let badRole = try await storageError(fromSQL: true) {
                try await client.query(
                    "INSERT INTO project_members (project_id, user_id, role) VALUES (\(project), \(user), 'superuser')"
                )
            }
            #expect(badRole == .constraintViolation(constraint: "project_members_role_check"))
            let badStatus = try await storageError(fromSQL: true) {
                try await insertImage(project: project, status: "done", client: client)
            }
            #expect(badStatus == .constraintViolation(constraint: "images_status_check"))
            let badJob = try await storageError(fromSQL: true) {
                try await client.query("INSERT INTO jobs (kind, state) VALUES ('segment', 'paused')")
            }
            #expect(badJob == .constraintViolation(constraint: "jobs_state_check"))
        }
    }

    @Test func deletingAProjectCascadesToItsImagesAndSegmentations() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            try await client.query("INSERT INTO project_members (project_id, user_id, role) VALUES (\(project), \(user), 'owner')")
            let image = try await insertImage(project: project, client: client)
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
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            let image = try await insertImage(project: project, client: client)
            let insert = { () async throws -> Void in
                try await client.query(
                    "INSERT INTO segmentations (image_id, version, polygons, segmenter) VALUES (\(image), 1, '[]'::jsonb, 'builtin')"
                )
            }
            try await insert()
            let error = try await storageError(fromSQL: true, insert)
            #expect(error == .conflict(constraint: "segmentations_image_id_version_key"))
        }
    }

    @Test func atMostOnePendingSegmentJobPerImage() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            let image = try await insertImage(project: project, client: client)
            try await client.query("INSERT INTO jobs (kind, image_id, user_id) VALUES ('segment', \(image), \(user))")

            // MUT + validate: a second queued job conflicts; a running or finished one does not
            let error = try await storageError(fromSQL: true) {
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
            let leaseless = try await storageError(fromSQL: true) {
                try await client.query("INSERT INTO jobs (kind, state) VALUES ('export', 'running')")
            }
            #expect(leaseless == .constraintViolation(constraint: "jobs_lease_check"))
            try await client.query("INSERT INTO jobs (kind, image_id, user_id) VALUES ('export', \(image), \(user))")
        }
    }

    @Test func unknownForeignKeyIsAnInvalidReference() async throws {
        try await withTestDatabase { client in
            let error = try await storageError(fromSQL: true) {
                try await insertProject(owner: UUID(), client: client)
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
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            let image = try await insertImage(project: project, client: client)

            // MUT + validate: every column that names a file-store object checks the form
            let original = try await storageError(fromSQL: true) {
                try await insertImage(project: project, objectKey: key, client: client)
            }
            #expect(original == .constraintViolation(constraint: "images_object_key_check"))
            let thumbnail = try await storageError(fromSQL: true) {
                try await client.query("UPDATE images SET thumbnail_key = \(key) WHERE id = \(image)")
            }
            #expect(thumbnail == .constraintViolation(constraint: "images_thumbnail_key_check"))
            let archive = try await storageError(fromSQL: true) {
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
}
