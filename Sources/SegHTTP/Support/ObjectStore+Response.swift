import Hummingbird
import SegStorage

extension ObjectStore {
    /// A response body streaming the object `key` in 128 KiB chunks, with its length; 404 when the
    /// object is absent (as a missing file was answered before the store had a protocol).
    func responseBody(_ key: ObjectKey) async throws -> ResponseBody {
        guard let object = try await object(key) else { throw HTTPError(.notFound) }
        guard object.bytes > 0 else { return ResponseBody() }
        return ResponseBody(contentLength: Int(object.bytes)) { writer in
            try await self.read(key, chunkSize: 128 * 1024) { chunk in try await writer.write(chunk) }
            try await writer.finish(nil)
        }
    }
}
