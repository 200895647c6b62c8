/// Which page of a list to read: at most `limit` rows after `cursor`.
public struct PageRequest: Hashable, Sendable {
    /// The default page size.
    public static let defaultLimit = 50
    /// The largest page a caller may ask for.
    public static let maximumLimit = 500

    /// Rows per page, `1...maximumLimit`.
    public let limit: Int
    /// Where the previous page ended; `nil` for the first page.
    public let cursor: PageCursor?

    /// A request for the first page, or the page after `cursor`.
    /// - Parameters:
    ///   - limit: Rows per page; `nil` means `defaultLimit`.
    ///   - cursor: The `nextCursor` of the previous page, as the client sent it.
    /// - Throws: `StorageError.invalidArgument` for a limit outside `1...maximumLimit`, `StorageError.invalidCursor`
    ///   for a cursor this module did not produce.
    public init(limit: Int? = nil, cursor: String? = nil) throws {
        let limit = limit ?? Self.defaultLimit
        guard (1...Self.maximumLimit).contains(limit) else {
            throw StorageError.invalidArgument("limit must be between 1 and \(Self.maximumLimit)")
        }
        self.limit = limit
        self.cursor = try cursor.map { try PageCursor(encoded: $0) }
    }

    /// A request from an already decoded cursor.
    public init(limit: Int, after cursor: PageCursor?) {
        self.limit = min(max(limit, 1), Self.maximumLimit)
        self.cursor = cursor
    }

    /// The first page with the default size.
    public static let first = PageRequest(limit: defaultLimit, after: nil)
}

/// One page of a list and the cursor of the next one (`nil` on the last page).
public struct Page<Item: Sendable>: Sendable {
    /// The rows of this page, in list order.
    public var items: [Item]
    /// Pass this back as `PageRequest.cursor` to read on; `nil` when there is nothing more.
    public var nextCursor: String?

    /// A page of `items` followed by `nextCursor`.
    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that another page exists.
    ///
    /// Repositories fetch `request.limit + 1` rows; if that many came back, the last one is dropped and the
    /// cursor points at the last row kept.
    /// - Parameters:
    ///   - rows: Up to `request.limit + 1` rows in list order.
    ///   - request: The request that fetched them.
    ///   - position: The ordering key of a row.
    public init(fetched rows: [Item], request: PageRequest, position: (Item) -> PageCursor) {
        if rows.count > request.limit {
            let kept = Array(rows.prefix(request.limit))
            self.items = kept
            self.nextCursor = kept.last.map { position($0).encoded }
        } else {
            self.items = rows
            self.nextCursor = nil
        }
    }

    /// The same page with each item transformed.
    public func map<Other: Sendable>(_ transform: (Item) throws -> Other) rethrows -> Page<Other> {
        Page<Other>(items: try items.map(transform), nextCursor: nextCursor)
    }
}

extension Page: Equatable where Item: Equatable {}
