import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Where an S3-compatible store is and how to reach it.
public struct S3Configuration: Sendable, Equatable {
    /// `http(s)://host[:port]` of the store (no path).
    public var endpoint: URL
    /// The bucket.
    public var bucket: String
    /// The region of the credential scope (`us-east-1` unless the store says otherwise).
    public var region: String
    /// Path-style URLs (`endpoint/bucket/key`), as most self-hosted stores want; else virtual-hosted
    /// (`bucket.host/key`), as AWS prefers.
    public var pathStyle: Bool
    /// The key pair.
    public var credentials: S3Credentials
    /// The longest one request may take, from connecting to the last byte of a small answer.
    public var timeout: TimeAmount
    /// Attempts of a request that failed for now (5xx, 503 SlowDown, a refused or broken connection, a timeout).
    public var attempts: Int

    /// A store at `endpoint`.
    public init(
        endpoint: URL, bucket: String, region: String = "us-east-1", pathStyle: Bool = true, credentials: S3Credentials,
        timeout: TimeAmount = .seconds(60), attempts: Int = 4
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.timeout = timeout
        self.attempts = attempts
    }
}

/// Why an S3 request failed.
public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store could not be reached or kept failing for now (after the retries): worth trying later.
    case unavailable(String)
    /// The store refused the request (a 4xx other than 404 on an object): wrong credentials, no such bucket, …
    case rejected(status: Int, code: String, message: String)
    /// The store answered something this client cannot read.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "the object store is unavailable: \(reason)"
        case .rejected(403, let code, ""):
            "the object store refused the request: HTTP 403 \(code) (check the key pair and its rights on the bucket)"
        case .rejected(let status, let code, let message): "the object store refused the request: HTTP \(status) \(code): \(message)"
        case .invalidResponse(let reason): "the object store's answer is not understood: \(reason)"
        }
    }
}

/// One object of a listing.
public struct S3ObjectInfo: Sendable, Equatable {
    /// The object's key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// When it was last written.
    public var lastModified: Date

    /// An object as listed.
    public init(key: String, size: Int64, lastModified: Date) {
        self.key = key
        self.size = size
        self.lastModified = lastModified
    }
}

/// A multipart upload that was started and neither completed nor aborted.
public struct S3PendingUpload: Sendable, Equatable {
    /// The object's key.
    public var key: String
    /// The upload's id.
    public var uploadID: String
    /// When it was started.
    public var initiated: Date
}

/// A small S3 client over AsyncHTTPClient: what an object store of content-addressed files needs, with Signature
/// Version 4 on every request and retries with backoff for failures that may pass (docs/scaling.md).
///
/// Keys are given without a leading `/`; they are encoded once into the URL. A request body is given as a closure
/// that makes it, so that a retry can send it again (a file stream is opened anew).
public struct S3Client: Sendable {
    /// The store.
    public let configuration: S3Configuration
    let signer: S3Signer
    let http: HTTPClient
    let logger: Logger
    /// Told of every request as it ends: its operation (`put`, `get`, `head`, `delete`, `list`, `multipart`, …), its
    /// result (`ok`, `not_found`, `rejected`, `retry`, `unavailable`) and how long it took (metrics).
    public var observer: (@Sendable (_ operation: String, _ result: String, _ duration: Duration) -> Void)?

    /// The HTTP client every `S3Client` uses unless given another: a failed connection fails at once (this client
    /// retries whole requests itself, with backoff, and an unreachable store must not hold a request for the pool's
    /// whole deadline), no redirects, no decompression, 10 s to connect and 60 s without a byte. It lives as long as the
    /// process, so it is never shut down.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .seconds(60)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A client of the store on `http` (``sharedHTTPClient`` by default).
    public init(configuration: S3Configuration, http: HTTPClient = S3Client.sharedHTTPClient, logger: Logger = Logger(label: "seg.s3")) {
        self.configuration = configuration
        self.signer = S3Signer(credentials: configuration.credentials, region: configuration.region)
        self.http = http
        self.logger = logger
    }

    /// A request body and its length, made anew for each attempt.
    public struct Body: Sendable {
        /// Its length in bytes.
        public var length: Int64
        /// The SHA-256 of the bytes in hex (signed), or `UNSIGNED-PAYLOAD`.
        public var sha256: String
        /// Makes the body to send.
        public var make: @Sendable () throws -> HTTPClientRequest.Body

        /// A body of these bytes.
        public static func bytes(_ buffer: ByteBuffer, sha256: String) -> Body {
            Body(length: Int64(buffer.readableBytes), sha256: sha256, make: { .bytes(buffer) })
        }

        /// A body made by `make`, of `length` bytes.
        public init(length: Int64, sha256: String, make: @escaping @Sendable () throws -> HTTPClientRequest.Body) {
            self.length = length
            self.sha256 = sha256
            self.make = make
        }
    }

    // MARK: - Objects

    /// Stores `body` under `key` in one request.
    public func putObject(key: String, body: Body) async throws(S3Error) {
        _ = try await send("PUT", key: key, body: body, expecting: [200])
    }

    /// Streams the object (or `range` of it, inclusive byte offsets) to `consumer`, chunk by chunk.
    /// - Returns: `false` when there is no such object (nothing was consumed).
    public func getObject(
        key: String, range: ClosedRange<Int64>? = nil, into consumer: (ByteBuffer) async throws -> Void
    ) async throws -> Bool {
        var headers: [(String, String)] = []
        if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try await send("GET", key: key, headers: headers, expecting: [200, 206, 404], streaming: true)
        guard response.status.code != 404 else { return false }
        for try await chunk in response.body {
            try await consumer(chunk)
        }
        return true
    }

    /// The whole object in memory (its `Content-Length` reserved at once), or `nil` when there is none.
    public func getObject(key: String) async throws -> [UInt8]? {
        let response = try await send("GET", key: key, expecting: [200, 404], streaming: true)
        guard response.status.code != 404 else { return nil }
        var bytes: [UInt8] = []
        if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > 0 {
            bytes.reserveCapacity(min(length, 1 << 31))
        }
        for try await chunk in response.body {
            bytes.append(contentsOf: chunk.readableBytesView)
        }
        return bytes
    }

    /// The object's size and age, or `nil` when there is none.
    public func headObject(key: String) async throws(S3Error) -> S3ObjectInfo? {
        let response = try await send("HEAD", key: key, expecting: [200, 404])
        guard response.status.code == 200 else { return nil }
        guard let length = response.headers.first(name: "content-length").flatMap(Int64.init) else {
            throw .invalidResponse("HEAD \(key) without Content-Length")
        }
        let modified = response.headers.first(name: "last-modified").flatMap(Self.httpDate) ?? Date()
        return S3ObjectInfo(key: key, size: length, lastModified: modified)
    }

    /// Deletes the object (nothing happens when there is none).
    public func deleteObject(key: String) async throws(S3Error) {
        _ = try await send("DELETE", key: key, expecting: [200, 204, 404])
    }

    /// Writes the object onto itself with its metadata replaced: its `Last-Modified` becomes now (what a content-addressed
    /// store does when the same content is stored again, so that a collector sparing young objects spares it).
    public func touchObject(key: String) async throws(S3Error) {
        let source = "/\(configuration.bucket)/\(key)"
        _ = try await send(
            "PUT", key: key,
            headers: [
                ("x-amz-copy-source", S3Signer.percentEncoded(source, keepingSlashes: true)), ("x-amz-metadata-directive", "REPLACE"),
            ], expecting: [200])
    }

    /// One page (up to 1,000) of the objects whose keys start with `prefix`, in key order, and the token of the next.
    public func listObjects(
        prefix: String, continuationToken: String? = nil
    ) async throws(S3Error) -> (
        objects: [S3ObjectInfo], next: String?
    ) {
        var query = [("list-type", "2"), ("prefix", prefix)]
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try await send("GET", key: nil, query: query, expecting: [200])
        let document = try S3XML.parse(response.bytes)
        var objects: [S3ObjectInfo] = []
        for item in document.elements(named: "Contents") {
            guard let key = item["Key"], let size = item["Size"].flatMap(Int64.init) else {
                throw .invalidResponse("a listed object without Key or Size")
            }
            objects.append(S3ObjectInfo(key: key, size: size, lastModified: item["LastModified"].flatMap(Self.isoDate) ?? Date()))
        }
        let truncated = document.value(of: "IsTruncated") == "true"
        return (objects, truncated ? document.value(of: "NextContinuationToken") : nil)
    }

    // MARK: - Multipart uploads

    /// Starts a multipart upload of `key`.
    /// - Returns: The upload's id.
    public func createMultipartUpload(key: String) async throws(S3Error) -> String {
        let response = try await send("POST", key: key, query: [("uploads", "")], expecting: [200])
        guard let id = try S3XML.parse(response.bytes).value(of: "UploadId"), !id.isEmpty else {
            throw .invalidResponse("no UploadId for \(key)")
        }
        return id
    }

    /// Uploads part `number` (1-based) of an upload.
    /// - Returns: The part's ETag, which completing the upload names.
    public func uploadPart(key: String, uploadID: String, number: Int, body: Body) async throws(S3Error) -> String {
        let response = try await send(
            "PUT", key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)], body: body, expecting: [200])
        guard let etag = response.headers.first(name: "etag") else { throw .invalidResponse("part \(number) of \(key) without ETag") }
        return etag
    }

    /// Completes an upload from its parts (number and ETag, in order): the object appears whole, at once.
    public func completeMultipartUpload(key: String, uploadID: String, parts: [(number: Int, etag: String)]) async throws(S3Error) {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(S3XML.escaped(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let bytes = Array(xml.utf8)
        let response = try await send(
            "POST", key: key, query: [("uploadId", uploadID)],
            body: .bytes(ByteBuffer(bytes: bytes), sha256: S3Signer.hex(SHA256.hash(data: bytes))), expecting: [200])
        // A 200 may still carry an error document (the store failed while assembling the parts).
        if let document = try? S3XML.parse(response.bytes), let code = document.value(of: "Code"), document.root == "Error" {
            throw .unavailable("completing the upload of \(key) failed: \(code) \(document.value(of: "Message") ?? "")")
        }
    }

    /// Aborts an upload: its parts are dropped and no object appears.
    public func abortMultipartUpload(key: String, uploadID: String) async throws(S3Error) {
        _ = try await send("DELETE", key: key, query: [("uploadId", uploadID)], expecting: [200, 204, 404])
    }

    /// The uploads under `prefix` that were started and neither completed nor aborted (up to 1,000).
    public func listMultipartUploads(prefix: String) async throws(S3Error) -> [S3PendingUpload] {
        let response = try await send("GET", key: nil, query: [("uploads", ""), ("prefix", prefix)], expecting: [200])
        return try S3XML.parse(response.bytes).elements(named: "Upload").compactMap { item in
            guard let key = item["Key"], let id = item["UploadId"] else { return nil }
            return S3PendingUpload(key: key, uploadID: id, initiated: item["Initiated"].flatMap(Self.isoDate) ?? Date())
        }
    }

    /// Checks that the bucket exists and the credentials may use it (a one-key listing).
    public func checkBucket() async throws(S3Error) {
        _ = try await send("GET", key: nil, query: [("list-type", "2"), ("max-keys", "1")], expecting: [200])
    }

    // MARK: - Requests

    /// An answer: status, headers and, unless streamed, the body's bytes.
    struct Answer {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var bytes: [UInt8]
        var body: HTTPClientResponse.Body
    }

    /// The URL, the host header and the path (unencoded) of a request for `key` (or the bucket when `nil`).
    func location(of key: String?) -> (base: String, host: String, path: String) {
        let url = configuration.endpoint
        let scheme = url.scheme ?? "http"
        let host = url.host ?? "localhost"
        let port = url.port.map { ":\($0)" } ?? ""
        let object = key.map { "/" + $0 } ?? "/"
        if configuration.pathStyle {
            return ("\(scheme)://\(host)\(port)", "\(host)\(port)", "/\(configuration.bucket)\(key == nil ? "" : object)")
        }
        return ("\(scheme)://\(configuration.bucket).\(host)\(port)", "\(configuration.bucket).\(host)\(port)", object)
    }

    /// Sends a signed request, retrying failures that may pass with exponential backoff (0.2 s doubling), and returns the
    /// answer when its status is one of `expecting`. Other statuses are `.rejected` (4xx) or retried (5xx).
    func send(
        _ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [], body: Body? = nil,
        expecting: Set<UInt>, streaming: Bool = false
    ) async throws(S3Error) -> Answer {
        var delay = 0.2
        var lastFailure = ""
        let operation = Self.operation(method, key: key, query: query, headers: headers)
        for attempt in 1...max(1, configuration.attempts) {
            let started = ContinuousClock.now
            do {
                let answer = try await attemptRequest(
                    method, key: key, query: query, headers: headers, body: body, expecting: expecting, streaming: streaming)
                observer?(operation, answer.status.code == 404 ? "not_found" : "ok", ContinuousClock.now - started)
                return answer
            } catch let failure as Retryable {
                observer?(operation, attempt < configuration.attempts ? "retry" : "unavailable", ContinuousClock.now - started)
                lastFailure = failure.reason
                logger.debug(
                    "S3 request failed for now", metadata: ["s3.method": "\(method)", "s3.attempt": "\(attempt)", "error": "\(failure.reason)"])
            } catch let error as S3Error {
                observer?(operation, "rejected", ContinuousClock.now - started)
                throw error
            } catch {
                observer?(operation, "unavailable", ContinuousClock.now - started)
                throw .unavailable("\(error)")
            }
            if attempt < configuration.attempts {
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                delay *= 2
            }
        }
        throw .unavailable("\(method) \(key ?? "/") failed \(configuration.attempts) times; last: \(lastFailure)")
    }

    /// The operation a request is, for metrics.
    static func operation(_ method: String, key: String?, query: [(String, String)], headers: [(String, String)]) -> String {
        let names = Set(query.map(\.0))
        if names.contains("uploads") || names.contains("uploadId") { return "multipart" }
        switch method {
        case "GET": return key == nil ? "list" : "get"
        case "PUT": return headers.contains { $0.0 == "x-amz-copy-source" } ? "copy" : "put"
        case "HEAD": return "head"
        case "DELETE": return "delete"
        default: return method.lowercased()
        }
    }

    /// A failure worth another attempt.
    struct Retryable: Error {
        var reason: String
    }

    private func attemptRequest(
        _ method: String, key: String?, query: [(String, String)], headers: [(String, String)], body: Body?, expecting: Set<UInt>,
        streaming: Bool
    ) async throws -> Answer {
        let (base, host, path) = location(of: key)
        var signedHeaders = headers
        signedHeaders.append(("host", host))
        let signature = signer.sign(
            method: method, path: path, query: query, headers: signedHeaders, payloadHash: body?.sha256 ?? S3Signer.emptyPayloadHash,
            date: Date())
        let queryText = S3Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: base + S3Signer.encodedPath(path) + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers + signature { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-length", value: "\(body.length)")
            request.body = try body.make()
        }
        let response: HTTPClientResponse
        do {
            // The deadline covers sending the body and the answer's head: allow 1 MB/s on top for a large body.
            let allowance = TimeAmount.seconds((body?.length ?? 0) / 1_000_000)
            response = try await http.execute(request, timeout: configuration.timeout + allowance, logger: logger)
        } catch let error as HTTPClientError {
            throw Retryable(reason: "\(error)")
        } catch is CancellationError {
            throw S3Error.unavailable("cancelled")
        } catch {
            // Connection refused or reset, DNS, TLS: the store is not reachable now.
            throw Retryable(reason: "\(error)")
        }
        let code = response.status.code
        if expecting.contains(code) {
            if streaming { return Answer(status: response.status, headers: response.headers, bytes: [], body: response.body) }
            let buffer = try await collect(response.body, method: method)
            return Answer(status: response.status, headers: response.headers, bytes: Array(buffer.readableBytesView), body: response.body)
        }
        let buffer = (try? await collect(response.body, method: method)) ?? ByteBuffer()
        let document = try? S3XML.parse(Array(buffer.readableBytesView))
        let errorCode = document?.value(of: "Code") ?? response.status.reasonPhrase
        let message = document?.value(of: "Message") ?? ""
        if code >= 500 || code == 429 || errorCode == "SlowDown" {
            throw Retryable(reason: "HTTP \(code) \(errorCode) \(message)")
        }
        throw S3Error.rejected(status: Int(code), code: errorCode, message: message)
    }

    private func collect(_ body: HTTPClientResponse.Body, method: String) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: 16 << 20)
        } catch let error as HTTPClientError {
            throw Retryable(reason: "reading the answer to \(method): \(error)")
        }
    }

    // MARK: - Dates

    /// An RFC 1123 date (`Last-Modified`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// An ISO 8601 date with or without fractional seconds (listings).
    static func isoDate(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
