import Foundation
import HTTPTypes
import Hummingbird
import SegStorage

/// Exports: `POST /api/v1/projects/:id/exports` queues one, `GET /api/v1/projects/:id/exports` lists them,
/// `GET /api/v1/exports/:id` reports its progress and `GET /api/v1/exports/:id/download` sends the ZIP.
///
/// Any member, viewers included, may export and download a project's exports. An export of a project the caller is not
/// a member of is answered as one that does not exist (404). The archive is built by an `export` job
/// (`ExportJobHandler`) and kept for `SEG_EXPORT_RETENTION_HOURS`; then a download answers 410 `EXPORT_EXPIRED`.
struct ExportsController {
    let services: AppServices

    /// The most micrometres per pixel accepted (a pixel a millimetre wide is already far beyond any microscope).
    static let maximumScale = 1000.0

    struct CreateRequest: Decodable {
        var formats: [String]
        var scaleUmPerPx: Double?
        var includeImages: Bool?
    }

    /// An export as the API shows it.
    struct ExportBody: ResponseEncodable {
        var id: UUID
        var projectId: UUID
        var status: String
        var progress: Double
        var formats: [String]
        var scaleUmPerPx: Double?
        var includeImages: Bool
        var error: String?
        var bytes: Int64?
        var createdAt: Date
        var finishedAt: Date?
        var expiresAt: Date?

        init(_ record: ExportRecord) {
            id = record.id
            projectId = record.projectID
            status = record.status.rawValue
            // Stored as `real`: round away float noise (0.3 is stored as 0.30000001192…).
            progress = (record.progress * 10_000).rounded() / 10_000
            formats = record.formats.map(\.rawValue)
            scaleUmPerPx = record.options.scaleUmPerPx
            includeImages = record.options.includeImages
            error = record.error
            bytes = record.status == .done ? record.bytes : nil
            createdAt = record.createdAt
            finishedAt = record.finishedAt
            expiresAt = record.expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case id, projectId, status, progress, formats, scaleUmPerPx, includeImages, error, bytes, createdAt, finishedAt, expiresAt
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(projectId, forKey: .projectId)
            try container.encode(status, forKey: .status)
            try container.encode(progress, forKey: .progress)
            try container.encode(formats, forKey: .formats)
            // Absent values are null, not missing, so clients see every field.
            try container.encode(scaleUmPerPx, forKey: .scaleUmPerPx)
            try container.encode(includeImages, forKey: .includeImages)
            try container.encode(error, forKey: .error)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(finishedAt, forKey: .finishedAt)
            try container.encode(expiresAt, forKey: .expiresAt)
        }
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/projects/:id/exports") { request, context in
            EditedResponse(status: .accepted, response: try await create(request, context))
        }
        routes.add(.get, "/api/v1/projects/:id/exports") { request, context in try await list(request, context) }
        routes.add(.get, "/api/v1/exports/:id") { _, context in try await get(context) }
        routes.add(.get, "/api/v1/exports/:id/download") { _, context in try await download(context) }
    }

    /// Validates the request, then stores the export and its job in one transaction: 202 `{id, status, …}`.
    func create(_ request: Request, _ context: AppRequestContext) async throws -> ExportBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        let body = try await ProjectsController.decodeBody(request, as: CreateRequest.self, context: context)
        let (formats, options) = try Self.validated(body)
        let userID = identity.userID
        let record = try await services.queue.createExport(
            projectID: projectID, userID: userID, formats: formats, options: options,
            payload: { exportID in try NewJob(kind: .export, encoding: ExportJobHandler.Payload(exportId: exportID), userID: userID).payload },
            on: services.database(context.logger))
        return ExportBody(record)
    }

    /// Checks formats (known, at least one, duplicates dropped), the scale and `includeImages`.
    static func validated(_ body: CreateRequest) throws -> ([ExportFormat], ExportOptions) {
        var errors: [Problem.FieldError] = []
        var formats: [ExportFormat] = []
        if body.formats.isEmpty {
            errors.append(.init(field: "formats", detail: "must name at least one format"))
        }
        for (index, name) in body.formats.enumerated() {
            guard let format = ExportFormat(rawValue: name) else {
                let known = ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")
                errors.append(.init(field: "formats[\(index)]", detail: "unknown format; one of \(known)"))
                continue
            }
            if !formats.contains(format) { formats.append(format) }
        }
        if let scale = body.scaleUmPerPx, !(scale.isFinite && scale > 0 && scale <= maximumScale) {
            errors.append(.init(field: "scaleUmPerPx", detail: "must be a number of micrometres per pixel above 0 and at most \(Int(maximumScale))"))
        }
        guard errors.isEmpty else { throw Problem.validation("the export request is not valid", errors: errors) }
        return (formats, ExportOptions(scaleUmPerPx: body.scaleUmPerPx, includeImages: body.includeImages ?? false))
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<ExportBody> {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        return PageBody(
            try await ExportRepository.list(projectID: projectID, page: try request.pageRequest(), on: services.database(context.logger)),
            ExportBody.init)
    }

    func get(_ context: AppRequestContext) async throws -> ExportBody {
        ExportBody(try await requireExport(context))
    }

    /// The ZIP of a done export, streamed from the file store.
    func download(_ context: AppRequestContext) async throws -> Response {
        let export = try await requireExport(context)
        switch export.status {
        case .queued, .running:
            throw Problem(.conflict, code: "EXPORT_NOT_READY", detail: "the export is \(export.status.rawValue); try again when it is done")
        case .failed:
            throw Problem(.conflict, code: "EXPORT_FAILED", detail: "the export failed: \(export.error ?? "no reason recorded")")
        case .expired:
            throw Self.expired
        case .done:
            break
        }
        // Past its expiry but not yet swept: already gone for the client.
        guard let key = export.objectKey, let expiresAt = export.expiresAt, expiresAt > Date() else { throw Self.expired }
        guard try await services.files.object(key) != nil else {
            context.logger.error("a done export's archive is missing", metadata: ["export.id": "\(export.id)"])
            throw Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "the archive cannot be read")
        }
        let project = try await ProjectRepository.find(id: export.projectID, on: services.database(context.logger))
        let body = try await services.files.responseBody(key)
        var headers = HTTPFields()
        headers[.contentType] = "application/zip"
        headers[.contentDisposition] = UploadFilename.contentDisposition(for: "\(project?.name ?? "project")-export.zip")
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "private, no-store"
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The export named in the path, if the caller is a member of its project (else 404).
    private func requireExport(_ context: AppRequestContext) async throws -> ExportRecord {
        try await services.requireExport(
            try context.pathID(naming: "export"), for: try context.requireIdentity(), on: services.database(context.logger))
    }

    /// 410: the archive was removed after the retention period.
    static let expired = Problem(
        .gone, code: "EXPORT_EXPIRED", detail: "the export's archive was removed after the retention period; export again")
}
