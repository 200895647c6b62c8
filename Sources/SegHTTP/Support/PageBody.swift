import Foundation
import Hummingbird
import SegStorage

/// A list answer: `{"items": [...], "nextCursor": "…" | null}`.
public struct PageBody<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    /// This page's items.
    public var items: [Item]
    /// Pass as `?cursor=` for the next page; `null` on the last.
    public var nextCursor: String?

    /// A page of `items`.
    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    /// The page of `page` with each item transformed.
    public init<Record: Sendable>(_ page: Page<Record>, _ transform: (Record) throws -> Item) rethrows {
        self.items = try page.items.map(transform)
        self.nextCursor = page.nextCursor
    }

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)  // null, not absent, on the last page
    }
}

extension Request {
    /// `?limit=&cursor=` as a `PageRequest`.
    /// - Throws: 400 `VALIDATION_FAILED` for a limit that is not a number in `1...500`, 400 `INVALID_CURSOR` for a
    ///   cursor this server did not issue.
    public func pageRequest() throws -> PageRequest {
        let query = uri.queryParameters
        var limit: Int?
        if let text = query["limit"] {
            guard let value = Int(String(text)) else {
                throw Problem.validation("limit must be a whole number", errors: [.init(field: "limit", detail: "not a number")])
            }
            limit = value
        }
        return try PageRequest(limit: limit, cursor: query["cursor"].map(String.init))
    }
}
