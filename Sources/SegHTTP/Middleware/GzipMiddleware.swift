import CompressNIO
import HTTPTypes
import Hummingbird
import NIOCore

/// Gzips JSON answers over 1 KiB for clients that accept it (image bytes are already compressed and pass as they are).
struct GzipMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let minimumBytes = 1024
    static let maximumBytes = 32 << 20

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard Self.acceptsGzip(request.headers[values: .acceptEncoding]),
            response.headers[.contentEncoding] == nil,
            let type = response.headers[.contentType], type.hasPrefix("application/json") || type.hasPrefix("application/problem+json"),
            let length = response.body.contentLength, length > Self.minimumBytes, length <= Self.maximumBytes
        else { return response }
        let box = BufferBox()
        try await response.body.write(CollectingWriter(box: box))
        var plain = box.buffer
        let compressed = try plain.compress(with: .gzip())
        response.body = ResponseBody(byteBuffer: compressed)
        response.headers[.contentEncoding] = "gzip"
        response.headers[.contentLength] = String(compressed.readableBytes)
        response.headers[values: .vary].append("Accept-Encoding")
        return response
    }

    /// Whether `Accept-Encoding` names gzip without `q=0`.
    static func acceptsGzip(_ values: [String]) -> Bool {
        for item in values.flatMap({ $0.split(separator: ",") }) {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = parts.first, coding == "gzip" || coding == "x-gzip" else { continue }
            return !parts.dropFirst().contains { $0 == "q=0" || $0 == "q=0.0" || $0 == "q=0.00" || $0 == "q=0.000" }
        }
        return false
    }
}

/// Holds the collected body (the writer is consumed by `ResponseBody.write`).
private final class BufferBox {
    var buffer = ByteBuffer()
}

/// A writer that appends everything to a `BufferBox`.
private struct CollectingWriter: ResponseBodyWriter {
    let box: BufferBox

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        box.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
