import Foundation
import SegStorage

/// The JSON messages of the event socket (docs/events.md). Every message has a `type`.
enum EventMessage {
    /// What a client may send.
    struct Inbound: Decodable {
        var type: String
        var token: String?
    }

    /// `{"type": "ready", "userId", "expiresAt"}`: authenticated; events follow.
    struct Ready: Encodable {
        var type = "ready"
        var userId: UUID
        /// When the socket closes unless a fresh token is sent (the latest expiry of the tokens presented).
        var expiresAt: String
    }

    /// `{"type": "error", "code", "detail"}`: a stable upper-snake `code` like the API's problem codes.
    struct Failure: Encodable {
        var type = "error"
        var code: String
        var detail: String
    }

    /// `{"type": "pong"}`, the answer to `{"type": "ping"}` (browsers cannot send WebSocket pings).
    struct Pong: Encodable {
        var type = "pong"
    }

    /// `image.status`.
    struct ImageStatus: Encodable {
        var type = "image.status"
        var projectId: UUID
        var imageId: UUID
        var status: String
        var at: String
    }

    /// `queue.stats`: the project's jobs by state; `workers` is the serving process's worker count, as in `GET /queue`.
    struct QueueStats: Encodable {
        var type = "queue.stats"
        var projectId: UUID
        var queued: Int
        var processing: Int
        var failed: Int
        var workers: Int
    }

    /// `export.status`.
    struct ExportStatus: Encodable {
        var type = "export.status"
        var exportId: UUID
        var projectId: UUID
        var status: String
        var progress: Double
    }

    /// Encodes `message` as the text of one frame.
    static func text(_ message: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding these plain structs cannot fail; an empty object keeps the socket alive if it ever did.
        guard let data = try? encoder.encode(message) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// An ISO 8601 time with milliseconds, in UTC.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
