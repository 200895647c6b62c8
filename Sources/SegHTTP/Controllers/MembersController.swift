import Foundation
import HTTPTypes
import Hummingbird
import SegStorage

/// `/api/v1/projects/:id/members`: list the members, add one or change a role, remove one or leave.
///
/// Any member lists; only the owner adds, changes roles and removes others; any member but the owner may leave.
/// The owner's own membership never changes here (ownership is transferred, not edited): 409 `OWNER_CANNOT_LEAVE`.
struct MembersController {
    let services: AppServices

    struct AddRequest: Decodable {
        var email: String
        var role: String
    }

    struct MemberBody: ResponseEncodable {
        var userId: UUID
        var email: String
        var name: String
        var role: String
        var createdAt: Date

        init(_ record: ProjectMemberRecord) {
            userId = record.userID
            email = record.email
            name = record.name
            role = record.role.rawValue
            createdAt = record.createdAt
        }
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/api/v1/projects/:id/members") { request, context in try await list(request, context) }
        routes.add(.post, "/api/v1/projects/:id/members") { request, context in
            EditedResponse(status: .created, response: try await add(request, context))
        }
        routes.add(.delete, "/api/v1/projects/:id/members/:userId") { _, context in try await remove(context) }
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<MemberBody> {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        let page = try request.pageRequest()
        return PageBody(
            try await ProjectMemberRepository.list(projectID: projectID, page: page, on: services.database(context.logger)), MemberBody.init)
    }

    /// Adds the account with `email` as editor or viewer, or changes the role of an existing member (201 either way).
    func add(_ request: Request, _ context: AppRequestContext) async throws -> MemberBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: projectID, for: identity, on: services.database(context.logger))
        let body = try await ProjectsController.decodeBody(request, as: AddRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        let email = body.email.trimmingCharacters(in: .whitespacesAndNewlines)
        if email.isEmpty || email.utf8.count > 254 {
            errors.append(.init(field: "email", detail: "not a valid address"))
        }
        let role = ProjectRole(rawValue: body.role)
        if role == nil || role == .owner {
            errors.append(.init(field: "role", detail: "must be editor or viewer"))
        }
        guard errors.isEmpty, let role else { throw Problem.validation("the member is not valid", errors: errors) }
        guard let user = try await UserRepository.find(email: email, on: services.database(context.logger)) else {
            throw Problem(.notFound, code: "USER_NOT_FOUND", detail: "no account has this email")
        }
        // The caller is the owner: the one membership that only a transfer of ownership changes.
        guard user.id != identity.userID else { throw Self.ownerIsFixed }
        let previous = try await ProjectMemberRepository.role(projectID: projectID, userID: user.id, on: services.database(context.logger))
        let member = try await setRole(role, of: user.id, in: projectID, on: services.database(context.logger))
        if let previous {
            if previous != role {
                await services.recordAudit(
                    "member.role", by: identity, targetType: "project", targetID: projectID,
                    details: ["userId": user.id.uuidString.lowercased(), "from": previous.rawValue, "to": role.rawValue], logger: context.logger)
            }
        } else {
            await services.recordAudit(
                "member.add", by: identity, targetType: "project", targetID: projectID,
                details: ["userId": user.id.uuidString.lowercased(), "role": role.rawValue], logger: context.logger)
        }
        return MemberBody(member)
    }

    /// Sets the role; the repository refuses the owner's membership (ownership moved to this user meanwhile).
    private func setRole(_ role: ProjectRole, of userID: UUID, in projectID: UUID, on database: Database) async throws -> ProjectMemberRecord {
        do {
            return try await ProjectMemberRepository.setRole(projectID: projectID, userID: userID, role: role, on: database)
        } catch {
            if case .invalidArgument = error { throw Self.ownerIsFixed }
            throw error
        }
    }

    /// The owner removes any member but themself; any other member may remove themself (leave).
    func remove(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        let myRole = try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        let userID = try context.pathID("userId", naming: "project member")
        let leaving = userID == identity.userID
        if leaving {
            guard myRole != .owner else { throw Self.ownerCannotLeave }
        } else {
            guard myRole == .owner else { throw Problem.forbidden("only the project's owner may remove other members") }
        }
        do {
            try await ProjectMemberRepository.remove(projectID: projectID, userID: userID, on: services.database(context.logger))
        } catch {
            if case .invalidArgument = error { throw Self.ownerCannotLeave }
            throw error
        }
        await services.recordAudit(
            "member.remove", by: identity, targetType: "project", targetID: projectID,
            details: ["userId": userID.uuidString.lowercased(), "left": leaving ? "true" : "false"], logger: context.logger)
        return .noContent
    }

    /// 409: the owner cannot leave or be removed; ownership has to be transferred first.
    static let ownerCannotLeave = Problem(
        .conflict, code: "OWNER_CANNOT_LEAVE", detail: "the owner cannot leave or be removed; transfer the ownership first")

    /// 409: the owner's role is not set through the member list.
    static let ownerIsFixed = Problem(
        .conflict, code: "OWNER_ROLE_FIXED", detail: "the owner's role cannot be changed; transfer the ownership instead")
}
