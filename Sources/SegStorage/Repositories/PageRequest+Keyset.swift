import Foundation

extension PageRequest {
    /// The bound for a list in ascending `(created_at, id)` order: rows strictly after it belong to this page.
    ///
    /// On the first page it is `(-infinity, 00000000-…)`, before every row, so every list query keeps one shape
    /// `(created_at, id) > ($t, $id)` that the `(…, created_at, id)` indexes serve.
    var ascendingBound: PageCursor {
        cursor ?? PageCursor(timestamp: Timestamp(microseconds: .min), id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    }

    /// The bound for a list in descending order: rows strictly before it belong to this page.
    ///
    /// On the first page it is `(infinity, ffffffff-…)`, after every row.
    var descendingBound: PageCursor {
        cursor
            ?? PageCursor(
                timestamp: Timestamp(microseconds: .max),
                id: UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))
            )
    }

    /// The number of rows to fetch: one more than the page, to learn whether another page follows.
    var fetchLimit: Int { limit + 1 }
}

/// A decoded row together with its keyset position.
struct Positioned<Item: Sendable>: Sendable {
    var item: Item
    var position: PageCursor
}

extension Page {
    /// Builds a page from `limit + 1` positioned rows.
    init(positioned rows: [Positioned<Item>], request: PageRequest) {
        self = Page<Positioned<Item>>(fetched: rows, request: request, position: \.position).map(\.item)
    }
}
