import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A client of the Open Inference Protocol's REST binding (KServe v2; also NVIDIA Triton's and Seldon MLServer's HTTP
/// API): readiness, model metadata and inference, with tensors as JSON or as raw bytes (the binary tensor data
/// extension, which Triton and KServe speak).
///
/// ## Usage
/// ```swift
/// let client = InferenceClient(server: URL(string: "http://127.0.0.1:8085")!, timeout: .seconds(60))
/// guard try await client.isModelReady("seghub-unet") else { … }
/// let outputs = try await client.infer(
///     model: "seghub-unet", inputs: [InferenceTensor(name: "input", shape: [1, 1, 256, 256], values: pixels)],
///     outputs: ["logits"], binary: true)
/// ```
///
/// Every failure is an ``InferenceError``: `.unavailable` for what another attempt may fix (no connection, a timeout,
/// a 5xx answer), `.rejected` for what it cannot (the server refused the request: a 4xx), `.invalidResponse` for an
/// answer that breaks the protocol.
public struct InferenceClient: Sendable {
    /// The server's base URL; `/v2/…` is appended.
    public let server: URL
    /// How long one request may take, connection included.
    public let timeout: TimeAmount
    /// The largest response body read (a 4096² float32 map is 64 MiB).
    public let maximumResponseBytes: Int
    let http: HTTPClient

    /// A client of `server` on the shared `HTTPClient`.
    public init(server: URL, timeout: TimeAmount = .seconds(60), maximumResponseBytes: Int = 256 << 20, http: HTTPClient = .shared) {
        self.server = server
        self.timeout = timeout
        self.maximumResponseBytes = maximumResponseBytes
        self.http = http
    }

    // MARK: Health and metadata

    /// Whether the server says it is ready (`GET /v2/health/ready` answers 200).
    /// - Throws: `.unavailable` when the server cannot be reached.
    public func isServerReady() async throws(InferenceError) -> Bool {
        try await status(of: "v2/health/ready") == 200
    }

    /// Whether the model (at `version`, or the server's choice) is ready to infer.
    /// - Throws: `.unavailable` when the server cannot be reached.
    public func isModelReady(_ model: String, version: String? = nil) async throws(InferenceError) -> Bool {
        try await status(of: modelPath(model, version) + "/ready") == 200
    }

    /// The model's metadata: its platform, versions and tensors.
    /// - Throws: `.rejected` for an unknown model, `.unavailable`, `.invalidResponse`.
    public func metadata(of model: String, version: String? = nil) async throws(InferenceError) -> ModelMetadata {
        let (status, _, body) = try await send(.GET, modelPath(model, version), body: nil, headers: [:])
        try Self.check(status, body)
        do {
            return try JSONDecoder().decode(ModelMetadata.self, from: body)
        } catch {
            throw .invalidResponse("the model metadata does not decode: \(error)")
        }
    }

    // MARK: Inference

    /// Runs the model on `inputs` and returns the requested outputs by name.
    /// - Parameters:
    ///   - binary: Send the inputs and ask for the outputs as raw little-endian bytes after the JSON header, rather
    ///     than as JSON arrays (smaller and faster; every v2 server SegHub documents supports it except MLServer).
    /// - Throws: `.unavailable` (retry), `.rejected` (the server refused the request), `.invalidResponse`.
    public func infer(
        model: String, version: String? = nil, inputs: [InferenceTensor], outputs: [String], binary: Bool = true
    ) async throws(InferenceError) -> [String: InferenceTensor] {
        let id = UUID().uuidString.lowercased()
        let (body, headerLength) = InferenceWire.request(id: id, inputs: inputs, outputs: outputs, binary: binary)
        var headers: [String: String] = ["Content-Type": binary ? "application/octet-stream" : "application/json"]
        if let headerLength { headers["Inference-Header-Content-Length"] = String(headerLength) }
        let (status, responseHeaders, responseBody) = try await send(.POST, modelPath(model, version) + "/infer", body: body, headers: headers)
        try Self.check(status, responseBody)
        let jsonLength = responseHeaders.first(name: "Inference-Header-Content-Length").flatMap(Int.init)
        let tensors = try InferenceWire.response(responseBody, headerLength: jsonLength)
        var byName: [String: InferenceTensor] = [:]
        for tensor in tensors { byName[tensor.name] = tensor }
        for name in outputs where byName[name] == nil {
            throw .invalidResponse("the response has no output \"\(name)\" (it has \(tensors.map(\.name).joined(separator: ", ")))")
        }
        return byName
    }

    // MARK: Transport

    private func modelPath(_ model: String, _ version: String?) -> String {
        let name = model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? model
        guard let version else { return "v2/models/\(name)" }
        let v = version.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? version
        return "v2/models/\(name)/versions/\(v)"
    }

    private func status(of path: String) async throws(InferenceError) -> Int {
        try await send(.GET, path, body: nil, headers: [:]).status
    }

    private func send(
        _ method: HTTPMethod, _ path: String, body: Data?, headers: [String: String]
    ) async throws(InferenceError) -> (status: Int, headers: HTTPHeaders, body: Data) {
        var base = server.absoluteString
        if !base.hasSuffix("/") { base += "/" }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        do {
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: maximumResponseBytes)
            return (Int(response.status.code), response.headers, Data(buffer: bytes))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .unavailable("the inference server did not answer within \(timeout.nanoseconds / 1_000_000_000) s")
        } catch let error as NIOTooManyBytesError {
            throw .invalidResponse("the answer is larger than \(error.maxBytes ?? maximumResponseBytes) bytes")
        } catch {
            throw .unavailable("the inference server at \(server.absoluteString) cannot be reached: \(error)")
        }
    }

    /// Turns a non-2xx status into the matching error, with the server's `error` message when it sent one.
    static func check(_ status: Int, _ body: Data) throws(InferenceError) {
        guard !(200..<300).contains(status) else { return }
        struct Message: Decodable { var error: String? }
        let message = (try? JSONDecoder().decode(Message.self, from: body))?.error ?? String(decoding: body.prefix(300), as: UTF8.self)
        if (500..<600).contains(status) || status == 429 {
            throw .unavailable("the inference server answered \(status): \(message)")
        }
        throw .rejected("the inference server answered \(status): \(message)")
    }
}

/// A model's metadata as `GET /v2/models/{name}` gives it.
public struct ModelMetadata: Sendable, Equatable, Decodable {
    /// The model's name.
    public var name: String
    /// The versions the server has.
    public var versions: [String]?
    /// The framework (`onnxruntime_onnx`, `pytorch_libtorch`, …).
    public var platform: String?
    /// The input tensors.
    public var inputs: [Tensor]
    /// The output tensors.
    public var outputs: [Tensor]

    /// One tensor's name, type and shape (`-1` for a dimension of any size).
    public struct Tensor: Sendable, Equatable, Decodable {
        public var name: String
        public var datatype: String
        public var shape: [Int]
    }
}

/// Why an inference call failed.
public enum InferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server cannot be reached, timed out or answered 5xx: another attempt may work.
    case unavailable(String)
    /// The server refused the request (4xx): the same request will be refused again.
    case rejected(String)
    /// The answer breaks the protocol or does not fit the model's description (a missing output, a wrong shape).
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unavailable(let message), .rejected(let message), .invalidResponse(let message): message
        }
    }

    /// Whether another attempt may succeed.
    public var isTransient: Bool {
        if case .unavailable = self { return true }
        return false
    }
}
