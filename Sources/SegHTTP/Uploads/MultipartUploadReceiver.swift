import Foundation
import Logging
import NIOCore
import NIOPosix
import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A part named `files` of an upload, received into a temporary file.
struct ReceivedUpload: Sendable {
    /// The client's filename as sent (`filename*` or `filename`), not sanitised; empty when absent.
    var clientFilename: String
    /// The temporary file with the part's bytes; `nil` when the part exceeded the per-file limit (its bytes were dropped).
    var path: String?
    /// Bytes received (for a part over the limit: the count when it crossed the limit).
    var bytes: Int

    /// Whether the part exceeded the per-file limit.
    var isTooLarge: Bool { path == nil }
}

/// The limits an upload is received under (from `ServerConfiguration`).
struct UploadLimits: Sendable {
    /// The largest request body: 413 when `Content-Length` announces more or the stream crosses it.
    var maxRequestBytes: Int
    /// The largest single file: a larger one is dropped and reported as `FILE_TOO_LARGE`.
    var maxFileBytes: Int
    /// The most parts named `files`: one more is 400 `TOO_MANY_FILES`.
    var maxFiles: Int
}

/// Receives a `multipart/form-data` body as it streams in, writing each part named `files` to its own temporary file
/// under the data directory's `tmp/`; nothing but the part being parsed is held in memory.
///
/// `MultipartStreamParser` does the parsing: it is fed each chunk of the body and reports each part's headers, body
/// slices and end, which are written out here. Other parts are read and dropped. When anything fails (limits, a malformed body, the disk) every temporary file is removed before the error is
/// thrown; on success the caller removes them with `removeFiles(of:)` once it has stored them.
///
/// Extra files are refused as a whole (400 `TOO_MANY_FILES`) rather than reported one by one: the client learns at once
/// that it must split its request, and nothing is stored from a request that will be retried.
struct MultipartUploadReceiver: Sendable {
    /// The form field whose parts are files.
    static let fieldName = "files"
    /// A part's bytes are gathered to this size before each write to its temporary file.
    static let writeBufferSize = 256 * 1024

    /// Where temporary files go (`SEG_DATA_DIR/tmp`).
    let temporaryDirectory: URL
    /// The limits.
    let limits: UploadLimits

    /// The boundary of a `multipart/form-data` content type.
    /// - Throws: 415 `UNSUPPORTED_MEDIA_TYPE` for any other media type, 400 `VALIDATION_FAILED` for a missing or invalid boundary.
    static func boundary(contentType: String?) throws -> String {
        let header = HeaderParameters(contentType ?? "")
        guard header.value == "multipart/form-data" else {
            throw Problem(
                .unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE", detail: "uploads must be multipart/form-data with parts named files")
        }
        // RFC 2046 section 5.1.1: 1 to 70 characters from a restricted set.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=? ".utf8)
        guard let boundary = header.parameters["boundary"], (1...70).contains(boundary.utf8.count),
            boundary.utf8.allSatisfy({ allowed.contains($0) }), !boundary.hasSuffix(" ")
        else {
            throw Problem.validation("the multipart boundary is missing or invalid")
        }
        return boundary
    }

    /// 413 `PAYLOAD_TOO_LARGE` for a request body over `limit` bytes.
    static func tooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, code: "PAYLOAD_TOO_LARGE", detail: "the request body exceeds \(limit) bytes")
    }

    /// Reads `body` to its end and returns the parts named `files`, in order.
    /// - Parameters:
    ///   - body: The request body.
    ///   - boundary: From `boundary(contentType:)`.
    ///   - logger: For file-system failures.
    /// - Throws: 413 `PAYLOAD_TOO_LARGE` once more than `maxRequestBytes` arrived; 400 `TOO_MANY_FILES`; 400
    ///   `VALIDATION_FAILED` for a malformed or incomplete body or one without files; `StorageError.fileSystem` when a
    ///   temporary file cannot be written.
    func receive<Body: AsyncSequence>(_ body: Body, boundary: String, logger: Logger) async throws -> [ReceivedUpload]
    where Body.Element == ByteBuffer {
        var parser = MultipartStreamParser(boundary: boundary)
        var events: [MultipartStreamParser.Event] = []
        var state = ReceiveState()
        do {
            var total = 0
            for try await chunk in body {
                total += chunk.readableBytes
                guard total <= limits.maxRequestBytes else { throw Self.tooLarge(limits.maxRequestBytes) }
                do {
                    try parser.feed(chunk, into: &events)
                } catch {
                    throw Problem.validation("the multipart body is malformed: \(error.reason)")
                }
                for event in events {
                    try await handle(event, state: &state)
                }
                events.removeAll(keepingCapacity: true)
            }
            guard parser.isComplete else {
                throw Problem.validation(
                    parser.isInsidePart
                        ? "the multipart body ends inside a part (no closing boundary)"
                        : "the multipart body has no closing boundary")
            }
            guard !state.received.isEmpty else {
                throw Problem.validation("the request has no parts named \(Self.fieldName)")
            }
            return state.received
        } catch {
            state.current?.file?.discard()
            Self.removeFiles(of: state.received)
            throw error
        }
    }

    /// Removes the temporary files of `uploads` (missing files are ignored).
    static func removeFiles(of uploads: [ReceivedUpload]) {
        for path in uploads.compactMap(\.path) {
            unlink(path)
        }
    }

    // MARK: - Parts

    private struct OpenPart {
        var isFile = false
        var filename = ""
        var file: TemporaryFile?
        var pending = ByteBuffer()
        var bytes = 0
        var tooLarge = false
    }

    private struct ReceiveState {
        var current: OpenPart?
        var received: [ReceivedUpload] = []
        var files = 0
    }

    private func handle(_ event: MultipartStreamParser.Event, state: inout ReceiveState) async throws {
        switch event {
        case .part(let headers):
            state.current = try await open(headers: headers, state: &state)
        case .body(var buffer):
            guard var part = state.current else { return }
            if part.isFile, !part.tooLarge {
                part.bytes += buffer.readableBytes
                if part.bytes > limits.maxFileBytes {
                    part.tooLarge = true
                    part.pending = ByteBuffer()
                    part.file?.discard()
                    part.file = nil
                } else if part.pending.readableBytes == 0, buffer.readableBytes >= Self.writeBufferSize, let file = part.file {
                    // A large slice goes to the file as it is, without a copy into `pending`.
                    state.current = part
                    try await file.write(buffer)
                } else {
                    part.pending.writeBuffer(&buffer)
                    if part.pending.readableBytes >= Self.writeBufferSize, let file = part.file {
                        let chunk = part.pending
                        part.pending = ByteBuffer()
                        state.current = part
                        try await file.write(chunk)
                    }
                }
            }
            state.current = part
        case .partEnd:
            guard var part = state.current else { return }
            if part.isFile, let file = part.file, part.pending.readableBytes > 0 {
                try await file.write(part.pending)
                part.pending = ByteBuffer()
            }
            // From here on the file is the caller's (or `receive`'s catch removes it through `received`).
            state.current = nil
            if part.isFile {
                if let file = part.file {
                    do {
                        try file.close()
                    } catch {
                        unlink(file.path)
                        throw error
                    }
                }
                state.received.append(ReceivedUpload(clientFilename: part.filename, path: part.file?.path, bytes: part.bytes))
            }
        }
    }

    /// A new part from its header fields: for a part named `files`, a temporary file is opened (and counted).
    private func open(headers: [(name: String, value: String)], state: inout ReceiveState) async throws -> OpenPart {
        var part = OpenPart()
        let disposition = headers.last { $0.name.lowercased() == "content-disposition" }.map { HeaderParameters($0.value) }
        guard let disposition, disposition.value == "form-data", disposition.parameters["name"] == Self.fieldName else {
            return part
        }
        state.files += 1
        guard state.files <= limits.maxFiles else {
            throw Problem(
                .badRequest, code: "TOO_MANY_FILES", detail: "at most \(limits.maxFiles) files may be uploaded in one request")
        }
        part.isFile = true
        part.filename = disposition.filename ?? ""
        part.file = try await TemporaryFile.create(in: temporaryDirectory)
        return part
    }
}

/// A temporary file written off the cooperative pool.
struct TemporaryFile: Sendable {
    /// Its path.
    let path: String
    let descriptor: Int32

    /// Creates `upload-<uuid>` in `directory` (exclusively, mode 0600).
    static func create(in directory: URL) async throws -> TemporaryFile {
        let path = directory.appendingPathComponent("upload-\(UUID().uuidString.lowercased())", isDirectory: false).path
        let descriptor = try await NIOThreadPool.singleton.runIfActive {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw failure("upload: create a temporary file") }
            return descriptor
        }
        return TemporaryFile(path: path, descriptor: descriptor)
    }

    /// Appends all of `buffer`.
    func write(_ buffer: ByteBuffer) async throws {
        let descriptor = descriptor
        try await NIOThreadPool.singleton.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("upload: write a temporary file")
                    }
                    offset += written
                }
            }
        }
    }

    /// Closes the file (it stays on disk).
    func close() throws {
        guard Glibc.close(descriptor) == 0 else { throw failure("upload: close a temporary file") }
    }

    /// Closes and removes the file.
    func discard() {
        _ = Glibc.close(descriptor)
        unlink(path)
    }
}

/// A `StorageError.fileSystem` naming the operation and errno, never a path.
private func failure(_ operation: String, errno code: Int32 = errno) -> StorageError {
    .fileSystem("\(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
}
