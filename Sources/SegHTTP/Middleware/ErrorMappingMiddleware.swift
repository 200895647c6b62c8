import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SegAuth
import SegCore
import SegStorage

/// Turns every error into a problem+json answer with a stable code.
///
/// `Problem`s pass through; domain errors (`StorageError`, `AuthError`, `SegCoreError`), Hummingbird's
/// `HTTPError`s (including the router's 404 for unknown paths, which becomes 405 when the path exists with other
/// methods) and decoding errors are mapped; anything else is logged in full and answered 500 `INTERNAL_ERROR`
/// without details.
struct ErrorMappingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// The registered routes, to tell 404 from 405.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw problem(for: error, request: request, context: context)
        }
    }

    func problem(for error: any Error, request: Request, context: Context) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as StorageError:
            return Self.problem(for: error, logger: context.logger)
        case let error as AuthError:
            return Self.problem(for: error)
        case let error as SegCoreError:
            return Problem(.unprocessableContent, code: error.code, detail: error.description)
        case let error as HTTPError:
            return problem(for: error, request: request)
        case let error as DecodingError:
            return .validation(for: error)
        case let error as NIOTooManyBytesError:
            // A body collected past its limit anywhere JSONBody did not read it.
            return JSONBody.tooLarge(error.maxBytes ?? context.bodyLimit)
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            return Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "an unexpected error occurred; it was logged")
        }
    }

    private func problem(for error: HTTPError, request: Request) -> Problem {
        switch error.status {
        case .notFound:
            let allowed = routes.methods(matching: request.uri.path)
            if !allowed.isEmpty, !allowed.contains(request.method) {
                var headers = HTTPFields()
                headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                return Problem(
                    .methodNotAllowed, code: "METHOD_NOT_ALLOWED", detail: "\(request.method.rawValue) is not allowed here",
                    headers: headers)
            }
            return Problem(.notFound, code: "NOT_FOUND", detail: "no such resource")
        case .contentTooLarge:
            return Problem(.contentTooLarge, code: "PAYLOAD_TOO_LARGE", detail: "the request body is too large")
        case .unsupportedMediaType:
            return Problem(.unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE", detail: error.body ?? "unsupported content type")
        case .badRequest:
            return .validation(error.body ?? "the request is malformed")
        case .unauthorized:
            return .unauthorized(error.body ?? "authentication required")
        default:
            let code = error.status.reasonPhrase.uppercased().replacingOccurrences(of: " ", with: "_")
                .replacingOccurrences(of: "-", with: "_")
            return Problem(error.status, code: code, detail: error.body ?? error.status.reasonPhrase, headers: error.headers)
        }
    }

    static func problem(for error: StorageError, logger: Logger) -> Problem {
        switch error {
        case .notFound(let entity, _):
            return .notFound(entity)
        case .conflict(let constraint):
            if constraint == "users_email_lower_key" {
                return Problem(.conflict, code: "EMAIL_TAKEN", detail: "an account with this email already exists")
            }
            return Problem(.conflict, code: "CONFLICT", detail: "this conflicts with an existing resource")
        case .invalidReference:
            return Problem(.notFound, code: "NOT_FOUND", detail: "a referenced resource does not exist")
        case .constraintViolation(let constraint):
            return .validation("a value was rejected (\(constraint))")
        case .invalidCursor:
            return Problem(.badRequest, code: "INVALID_CURSOR", detail: "the cursor is not one this server issued")
        case .invalidArgument(let reason):
            return .validation(reason)
        case .invalidState(let entity, _, let state):
            return Problem(.conflict, code: "INVALID_STATE", detail: "the \(entity) is \(state)")
        case .quotaExceeded(let used, let quota):
            return ImagesController.quotaExceeded(used: used, quota: quota)
        case .unavailable:
            logger.warning("database unavailable", metadata: ["error": "\(error)"])
            var headers = HTTPFields()
            headers[.retryAfter] = "5"
            return Problem(
                .serviceUnavailable, code: "SERVICE_UNAVAILABLE", detail: "the database is unavailable; try again shortly", headers: headers)
        case .storeUnavailable:
            logger.warning("object store unavailable", metadata: ["error": "\(error)"])
            var headers = HTTPFields()
            headers[.retryAfter] = "5"
            return Problem(
                .serviceUnavailable, code: "STORAGE_UNAVAILABLE", detail: "the object store is unavailable; nothing was stored, try again shortly",
                headers: headers)
        default:
            logger.error("storage error", metadata: ["error": "\(error)"])
            return Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "an unexpected error occurred; it was logged")
        }
    }

    static func problem(for error: AuthError) -> Problem {
        switch error {
        case .invalidCredentials:
            return .unauthorized("invalid email or password", code: "INVALID_CREDENTIALS")
        case .accountDisabled:
            return .unauthorized("invalid email or password", code: "INVALID_CREDENTIALS")
        case .invalidPassword(let reason):
            return .validation("password \(reason)", errors: [.init(field: "password", detail: reason)])
        case .invalidToken:
            return .unauthorized("the access token is invalid", code: "INVALID_TOKEN")
        case .tokenExpired:
            return .unauthorized("the access token has expired", code: "TOKEN_EXPIRED")
        case .invalidRefreshToken:
            return .unauthorized("the refresh token is invalid or expired", code: "INVALID_REFRESH_TOKEN")
        case .refreshTokenReused:
            return .unauthorized("the refresh token was already used; please sign in again", code: "REFRESH_TOKEN_REUSED")
        case .invalidConfiguration:
            return Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "an unexpected error occurred; it was logged")
        }
    }
}
