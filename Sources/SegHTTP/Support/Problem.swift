import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: every error answer of the API, as `application/problem+json` with a stable `code`.
///
/// `code` is an upper-snake identifier clients can switch on (`VALIDATION_FAILED`, `NOT_FOUND`, …); `detail` is
/// for people and never contains SQL, file paths, tokens or stack traces.
public struct Problem: Error, HTTPResponseError, Sendable, Equatable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The stable machine-readable code.
    public var code: String
    /// What went wrong, for people.
    public var detail: String
    /// Extra response headers (`Retry-After`, `Allow`, `WWW-Authenticate`).
    public var headers: HTTPFields
    /// Per-field problems of a validation failure.
    public var errors: [FieldError]

    /// One invalid field.
    public struct FieldError: Codable, Sendable, Equatable {
        /// A JSON-pointer-like path to the field (`polygons[2].exterior`).
        public var field: String
        /// What is wrong with it.
        public var detail: String

        /// A problem with `field`.
        public init(field: String, detail: String) {
            self.field = field
            self.detail = detail
        }
    }

    /// A problem with `status`, `code` and `detail`.
    public init(_ status: HTTPResponse.Status, code: String, detail: String, headers: HTTPFields = [:], errors: [FieldError] = []) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.errors = errors
    }

    /// The media type of problem bodies.
    public static let mediaType = "application/problem+json"

    private struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var code: String
        var errors: [FieldError]?
    }

    /// The problem+json body (also written by channel handlers that answer before routing, as the origin gate).
    public var encodedBody: Data {
        let body = Body(
            type: "https://seghub.dev/problems/\(code.lowercased().replacingOccurrences(of: "_", with: "-"))",
            title: status.reasonPhrase, status: status.code, detail: detail, code: code, errors: errors.isEmpty ? nil : errors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Strings and integers only: encoding cannot fail.
        return (try? encoder.encode(body)) ?? Data("{}".utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = encodedBody
        var headers = headers
        headers[.contentType] = Self.mediaType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Problem {
    /// 400 `VALIDATION_FAILED`.
    public static func validation(_ detail: String, errors: [FieldError] = []) -> Problem {
        Problem(.badRequest, code: "VALIDATION_FAILED", detail: detail, errors: errors)
    }

    /// 404 `NOT_FOUND`; also the answer for resources the caller may not know of.
    public static func notFound(_ what: String) -> Problem {
        Problem(.notFound, code: "NOT_FOUND", detail: "\(what) not found")
    }

    /// 401 `UNAUTHORIZED`.
    public static func unauthorized(_ detail: String = "authentication required", code: String = "UNAUTHORIZED") -> Problem {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer"
        return Problem(.unauthorized, code: code, detail: detail, headers: headers)
    }

    /// 403 `FORBIDDEN`: the caller may see the resource but not do this.
    public static func forbidden(_ detail: String) -> Problem {
        Problem(.forbidden, code: "FORBIDDEN", detail: detail)
    }
}
