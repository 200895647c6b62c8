import Foundation
import SegStorage
import SegTestSupport
import Testing

/// The shared helpers' failure modes: the tests built on them can only fail for their own reasons if these do.
@Suite(.timeLimit(.minutes(5))) struct TestSupportTests {
    struct Unrelated: Error {}

    @Test func storageErrorRefusesOtherErrorsUnlessTheyComeFromSQL() async throws {
        #expect(try await storageError {} == nil)
        #expect(try await storageError { throw StorageError.notFound(entity: "image", id: "x") } == .notFound(entity: "image", id: "x"))
        await #expect(throws: NotAStorageError.self) {
            _ = try await storageError { throw Unrelated() }
        }
        try await withTestDatabase { client in
            let error = try await storageError(fromSQL: true) {
                try await insertImage(project: UUID(), client: client)
            }
            #expect(error == .invalidReference(constraint: "images_project_id_fkey"))
        }
    }

    @Test func eventuallyReturnsOnceTheConditionHoldsAndThrowsOnTimeout() async throws {
        var polls = 0
        try await eventually {
            polls += 1
            return polls == 3
        }
        #expect(polls == 3)
        let error = await #expect(throws: ConditionTimedOut.self) {
            try await eventually("nothing", timeout: .milliseconds(200), interval: .milliseconds(20)) { false }
        }
        #expect(error?.description.contains("TestSupportTests.swift") == true)
        #expect(error?.description.contains("waiting for nothing") == true)
    }

    @Test func insertImageStoresWhatItIsGiven() async throws {
        try await withTestDatabase { client in
            let owner = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: owner, client: client)
            let key = randomObjectKey()
            let id = try await insertImage(
                project: project, objectKey: key, name: "cells.tif", status: "failed", format: "tiff", width: 3, height: 2, bytes: 7,
                client: client)
            let rows = try await client.query(
                "SELECT object_key, thumbnail_key, name, status, format, width, height, bytes FROM images WHERE id = \(id)"
            ).collect()
            let row = try #require(rows.first).decode((String, String?, String, String, String, Int32, Int32, Int64).self)
            #expect(row.0 == key && row.1 == nil && row.2 == "cells.tif" && row.3 == "failed" && row.4 == "tiff")
            #expect(row.5 == 3 && row.6 == 2 && row.7 == 7)
            #expect(randomObjectKey() != randomObjectKey())
        }
    }
}
