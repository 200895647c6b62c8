import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegStorage

/// `/api/v1/projects`: list, create, read, rename, delete.
///
/// Viewers read, editors rename, the owner deletes. A project the caller is not a member of is answered exactly as a
/// project that does not exist (404 `NOT_FOUND`), so nobody learns which projects exist.
struct ProjectsController {
    let services: AppServices

    /// The longest project name, in characters, after trimming.
    static let maximumNameLength = 200
    /// The longest description, in characters.
    static let maximumDescriptionLength = 5_000

    struct CreateRequest: Decodable {
        var name: String
        var description: String?
    }

    /// `defaultSegmenter`: absent leaves it, `null` or `"builtin"` resets it to the built-in segmenter.
    struct UpdateRequest: Decodable {
        var name: String?
        var description: String?
        var defaultSegmenter: String??

        private enum Keys: String, CodingKey {
            case name, description, defaultSegmenter
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            description = try c.decodeIfPresent(String.self, forKey: .description)
            if c.contains(.defaultSegmenter) {
                defaultSegmenter = .some(try c.decodeNil(forKey: .defaultSegmenter) ? nil : try c.decode(String.self, forKey: .defaultSegmenter))
            }
        }
    }

    /// A project as its member sees it (DESIGN.md section 3).
    struct ProjectBody: ResponseEncodable {
        var id: UUID
        var name: String
        var description: String
        var ownerId: UUID
        var myRole: String
        var createdAt: Date
        var imageCounts: ImageStatusCounts
        /// What segmentation requests of the project use when they name no segmenter.
        var defaultSegmenter: String

        init(_ record: UserProjectRecord) {
            id = record.project.id
            name = record.project.name
            description = record.project.description
            ownerId = record.project.ownerID
            myRole = record.myRole.rawValue
            createdAt = record.project.createdAt
            imageCounts = record.imageCounts
            defaultSegmenter = record.project.defaultSegmenter ?? SegmentationPayload.builtinName
        }
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/api/v1/projects") { request, context in try await list(request, context) }
        routes.add(.post, "/api/v1/projects") { request, context in
            EditedResponse(status: .created, response: try await create(request, context))
        }
        routes.add(.get, "/api/v1/projects/:id") { _, context in try await get(context) }
        routes.add(.patch, "/api/v1/projects/:id") { request, context in try await update(request, context) }
        routes.add(.delete, "/api/v1/projects/:id") { _, context in try await delete(context) }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<ProjectBody> {
        let identity = try context.requireIdentity()
        let page = try request.pageRequest()
        return PageBody(
            try await ProjectRepository.list(memberID: identity.userID, page: page, on: services.database(context.logger)), ProjectBody.init)
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> ProjectBody {
        let identity = try context.requireIdentity()
        let body = try await Self.decodeBody(request, as: CreateRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        let name = Self.validName(body.name, errors: &errors)
        let description = body.description.map { Self.validDescription($0, errors: &errors) } ?? ""
        guard errors.isEmpty else { throw Problem.validation("the project is not valid", errors: errors) }
        let project = try await ProjectRepository.create(
            ownerID: identity.userID, name: name, description: description, on: services.database(context.logger))
        await services.recordAudit(
            "project.create", by: identity, targetType: "project", targetID: project.id, details: ["name": name], logger: context.logger)
        return ProjectBody(try await ProjectRepository.get(id: project.id, memberID: identity.userID, on: services.database(context.logger)))
    }

    func get(_ context: AppRequestContext) async throws -> ProjectBody {
        let identity = try context.requireIdentity()
        let id = try context.pathID(naming: "project")
        return ProjectBody(try await ProjectRepository.get(id: id, memberID: identity.userID, on: services.database(context.logger)))
    }

    func update(_ request: Request, _ context: AppRequestContext) async throws -> ProjectBody {
        let identity = try context.requireIdentity()
        let id = try context.pathID(naming: "project")
        try await services.requireRole(.editor, in: id, for: identity, on: services.database(context.logger))
        let body = try await Self.decodeBody(request, as: UpdateRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        let name = body.name.map { Self.validName($0, errors: &errors) }
        let description = body.description.map { Self.validDescription($0, errors: &errors) }
        // The built-in segmenter is stored as no default.
        let segmenter: String?? = body.defaultSegmenter.map { $0 == SegmentationPayload.builtinName ? nil : $0 }
        if case .some(.some(let name)) = segmenter, !services.segmenters.knows(name) {
            throw Problem(
                .badRequest, code: "UNKNOWN_SEGMENTER", detail: "no segmenter \"\(name)\" on this server (GET /api/v1/segmenters lists them)",
                errors: [.init(field: "defaultSegmenter", detail: "must be builtin or a configured model")])
        }
        guard errors.isEmpty else { throw Problem.validation("the project is not valid", errors: errors) }
        if name != nil || description != nil || segmenter != nil {
            _ = try await ProjectRepository.update(
                id: id, name: name, description: description, defaultSegmenter: segmenter, on: services.database(context.logger))
            let fields = [name.map { _ in "name" }, description.map { _ in "description" }, segmenter.map { _ in "defaultSegmenter" }]
                .compactMap { $0 }
            await services.recordAudit(
                "project.update", by: identity, targetType: "project", targetID: id, details: ["fields": fields.joined(separator: ",")],
                logger: context.logger)
        }
        return ProjectBody(try await ProjectRepository.get(id: id, memberID: identity.userID, on: services.database(context.logger)))
    }

    func delete(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let id = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: id, for: identity, on: services.database(context.logger))
        _ = try await ProjectRepository.deleteWithFiles(
            id: id, files: services.files, actorID: identity.userID, on: services.database(context.logger))
        return .noContent
    }

    // MARK: - Input

    /// Trims `raw` and checks it is 1 to 200 characters without control characters; problems go to `errors`.
    static func validName(_ raw: String, errors: inout [Problem.FieldError]) -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty {
            errors.append(.init(field: "name", detail: "must not be empty"))
        } else if name.count > maximumNameLength || name.utf8.count > 8 * maximumNameLength {
            errors.append(.init(field: "name", detail: "at most \(maximumNameLength) characters"))
        } else if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            errors.append(.init(field: "name", detail: "must not contain control characters"))
        }
        return name
    }

    /// Checks `raw` is at most 5,000 characters without NUL (which PostgreSQL text cannot hold); problems go to `errors`.
    static func validDescription(_ raw: String, errors: inout [Problem.FieldError]) -> String {
        if raw.count > maximumDescriptionLength || raw.utf8.count > 8 * maximumDescriptionLength {
            errors.append(.init(field: "description", detail: "at most \(maximumDescriptionLength) characters"))
        } else if raw.unicodeScalars.contains("\u{0}") {
            errors.append(.init(field: "description", detail: "must not contain NUL characters"))
        }
        return raw
    }

    /// Decodes the JSON body as `type` (``JSONBody``): over the route's limit is 413, a control character in a string
    /// or a body that is not JSON or does not match is 400 `VALIDATION_FAILED` naming the field.
    static func decodeBody<Body: Decodable>(_ request: Request, as type: Body.Type, context: AppRequestContext) async throws -> Body {
        try await JSONBody.decode(type, from: request, context: context)
    }
}

extension AppServices {
    /// Appends an audit entry by `identity`; a failure is logged and never fails the request that already succeeded.
    /// - Parameter details: A small JSON object (never secrets).
    func recordAudit(
        _ action: String, by identity: Identity, targetType: String, targetID: UUID, details: [String: String], logger: Logger
    ) async {
        await recordAudit(action, actorID: identity.userID, targetType: targetType, targetID: targetID, details: details, logger: logger)
    }

    /// Appends an audit entry by the account `actorID` (one that has no request identity yet: a sign-up); a failure is
    /// logged and never fails the request that already succeeded.
    func recordAudit(
        _ action: String, actorID: UUID?, targetType: String, targetID: UUID, details: [String: String], logger: Logger
    ) async {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            _ = try await AuditLogRepository.record(
                actorID: actorID, action: action, targetType: targetType, targetID: targetID,
                details: Array(try encoder.encode(details)), on: database(logger))
        } catch {
            logger.warning("audit entry not recorded", metadata: ["audit.action": "\(action)", "error": "\(error)"])
        }
    }
}
