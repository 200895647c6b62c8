import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct PaginationTests {
    @Test(arguments: [Int64.min, -1, 0, 1, 848_000_000_123_456, Int64.max])
    func cursorRoundTrips(microseconds: Int64) throws {
        let cursor = PageCursor(timestamp: Timestamp(microseconds: microseconds), id: UUID())
        let decoded = try PageCursor(encoded: cursor.encoded)
        #expect(decoded == cursor)
        #expect(cursor.encoded.utf8.count == 32)
        #expect(!cursor.encoded.contains("=") && !cursor.encoded.contains("/") && !cursor.encoded.contains("+"))
    }

    @Test(arguments: ["", "abc", String(repeating: "A", count: 31), String(repeating: "!", count: 32), "../../etc/passwd"])
    func malformedCursorsAreRejected(text: String) {
        #expect(throws: StorageError.invalidCursor) { try PageCursor(encoded: text) }
        #expect(throws: StorageError.invalidCursor) { try PageRequest(limit: 10, cursor: text) }
    }

    @Test(arguments: [0, -5, PageRequest.maximumLimit + 1])
    func limitsOutsideTheRangeAreRejected(limit: Int) {
        #expect(throws: StorageError.self) { try PageRequest(limit: limit) }
    }

    @Test func pageDropsTheLookAheadRowAndPointsAtTheLastKept() throws {
        let request = try PageRequest(limit: 2)
        let ids = (0..<3).map { _ in UUID() }
        let position = { (id: UUID) in PageCursor(timestamp: Timestamp(microseconds: 7), id: id) }
        let full = Page(fetched: ids, request: request, position: position)
        #expect(full.items == Array(ids.prefix(2)))
        #expect(try full.nextCursor.map { try PageCursor(encoded: $0).id } == ids[1])
        let last = Page(fetched: Array(ids.prefix(2)), request: request, position: position)
        #expect(last.nextCursor == nil)
    }

    /// The server's microseconds survive a round trip exactly, which `Date` does not guarantee.
    @Test func timestampRoundTripsThroughPostgres() async throws {
        try await withTestDatabase { client in
            let rows = try await client.query(
                "SELECT '2026-11-26 22:12:20.123457+00'::timestamptz, '2000-01-01 00:00:00.000001+00'::timestamptz"
            )
            for try await (a, b) in rows.decode((Timestamp, Timestamp).self) {
                #expect(b.microseconds == 1)
                let back = try await client.query("SELECT \(a) = '2026-11-26 22:12:20.123457+00'::timestamptz")
                for try await same in back.decode(Bool.self) { #expect(same) }
                #expect(abs(a.date.timeIntervalSince1970 - 1_795_731_140.123457) < 1e-5)
            }
        }
    }
}
