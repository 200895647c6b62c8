import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOPosix
import SegCore
import SegStorage

/// `/api/v1/projects/:id/images` and `/api/v1/images/:id`: upload, list, read, delete, original bytes, thumbnail and the
/// display rendition.
///
/// Uploads stream: the multipart body is parsed as it arrives and each file goes to a temporary file, never the whole
/// request into memory. Formats are recognised by their first bytes only; every file is decoded once, off the
/// cooperative pool, for its size and thumbnail. A bad file is reported in `errors` while the good ones are stored.
///
/// Upload answers: 201 `{items, errors}` as soon as the body was well formed, even when every file landed in `errors`
/// (`FILE_TOO_LARGE`, `UNSUPPORTED_IMAGE_FORMAT`, `EMPTY_FILE`, `IMAGE_TRUNCATED`, `IMAGE_CORRUPT`, `IMAGE_TOO_LARGE`, …);
/// 413 `PAYLOAD_TOO_LARGE` for a body over `SEG_MAX_REQUEST_BYTES` (announced or streamed); 400 `TOO_MANY_FILES` for
/// more than `SEG_MAX_FILES_PER_REQUEST` files (the whole request is refused, nothing stored); 415
/// `UNSUPPORTED_MEDIA_TYPE` for anything but `multipart/form-data`; 400 `VALIDATION_FAILED` for a malformed body or one
/// without `files` parts. Malformed ids are 404, like unknown ones.
struct ImagesController {
    let services: AppServices

    /// An image as the API shows it.
    struct ImageBody: ResponseEncodable {
        var id: UUID
        var projectId: UUID
        var name: String
        var width: Int
        var height: Int
        var format: String
        var pages: Int
        var bytes: Int64
        var status: String
        var createdAt: Date
        /// Why a `failed` image's segmentation failed (left out otherwise).
        var error: String?

        init(_ image: ImageRecord) {
            id = image.id
            projectId = image.projectID
            name = image.name
            width = image.width
            height = image.height
            format = image.format.rawValue
            pages = image.pages
            bytes = image.bytes
            status = image.status.rawValue
            createdAt = image.createdAt
            error = image.failureReason
        }
    }

    /// A file of an upload that was not stored.
    struct UploadError: Encodable, Sendable {
        var name: String
        var code: String
        var detail: String
    }

    /// The answer to an upload: what was stored and what was not.
    struct UploadBody: ResponseEncodable {
        var items: [ImageBody]
        var errors: [UploadError]
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/projects/:id/images") { request, context in
            EditedResponse(status: .created, response: try await upload(request, context))
        }
        routes.add(.get, "/api/v1/projects/:id/images") { request, context in try await list(request, context) }
        routes.add(.get, "/api/v1/images/:id") { _, context in try await get(context) }
        routes.add(.delete, "/api/v1/images/:id") { _, context in try await delete(context) }
        routes.add(.get, "/api/v1/images/:id/original") { _, context in try await original(context) }
        routes.add(.get, "/api/v1/images/:id/thumbnail") { _, context in try await thumbnail(context) }
        routes.add(.get, "/api/v1/images/:id/display") { request, context in try await display(request, context) }
    }

    func upload(_ request: Request, _ context: AppRequestContext) async throws -> UploadBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "image")
        try await services.requireRole(.editor, in: projectID, for: identity, on: services.database(context.logger))

        let configuration = services.configuration
        // The owner's storage quota: a full one refuses the request before its body is read.
        var room: Int64?
        if let quota = configuration.userQuotaBytes {
            let database = services.database(context.logger)
            guard let owner = try await ProjectRepository.find(id: projectID, on: database)?.ownerID else { throw Problem.notFound("project") }
            let used = try await UserRepository.storedBytes(id: owner, on: database)
            guard used < quota else { throw Self.quotaExceeded(used: used, quota: quota) }
            room = quota - used
        }
        let boundary = try MultipartUploadReceiver.boundary(contentType: request.headers[.contentType])
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > configuration.maxRequestBytes {
            throw MultipartUploadReceiver.tooLarge(configuration.maxRequestBytes)
        }
        let receiver = MultipartUploadReceiver(
            temporaryDirectory: services.files.scratch.directory,
            limits: UploadLimits(
                maxRequestBytes: configuration.maxRequestBytes, maxFileBytes: configuration.maxUploadBytes,
                maxFiles: configuration.maxFilesPerRequest))
        let uploads = try await receiver.receive(request.body, boundary: boundary, logger: context.logger)
        defer { MultipartUploadReceiver.removeFiles(of: uploads) }

        var items: [ImageBody] = []
        var errors: [UploadError] = []
        for upload in uploads {
            guard let path = upload.path else {
                errors.append(
                    UploadError(
                        name: Self.errorName(upload), code: "FILE_TOO_LARGE",
                        detail: "the file exceeds \(configuration.maxUploadBytes) bytes"))
                continue
            }
            if let left = room, Int64(upload.bytes) > left {
                errors.append(
                    UploadError(
                        name: Self.errorName(upload), code: "QUOTA_EXCEEDED",
                        detail: "the project owner's storage quota has \(max(0, left)) bytes left; this file has \(upload.bytes)"))
                continue
            }
            switch try await ImageIngest.ingest(path: path, into: services.files, budget: services.decodeBudget) {
            case .rejected(let code, let detail):
                errors.append(UploadError(name: Self.errorName(upload), code: code, detail: detail))
            case .stored(let stored):
                guard let format = ImageRecord.Format(rawValue: stored.format.rawValue) else {
                    errors.append(
                        UploadError(
                            name: Self.errorName(upload), code: "UNSUPPORTED_IMAGE_FORMAT", detail: "this image format is not stored"))
                    continue
                }
                let insert = await Self.insert(
                    projectID: projectID, name: UploadFilename.storedName(upload.clientFilename, format: stored.format), stored: stored,
                    format: format, quota: configuration.userQuotaBytes, on: services.database(context.logger))
                let image: ImageRecord
                switch insert {
                case .success(let record):
                    image = record
                case .failure(.quotaExceeded(let used, let quota)):
                    // Another upload took the room meanwhile (the stored object is collected by `segctl gc`).
                    room = quota - used
                    errors.append(
                        UploadError(name: Self.errorName(upload), code: "QUOTA_EXCEEDED", detail: Self.quotaExceeded(used: used, quota: quota).detail)
                    )
                    continue
                case .failure(let error):
                    throw error
                }
                room = room.map { $0 - Int64(stored.bytes) }
                items.append(ImageBody(image))
            }
        }
        // Nothing stored and every file over the quota: the request as a whole is refused.
        if items.isEmpty, !errors.isEmpty, errors.allSatisfy({ $0.code == "QUOTA_EXCEEDED" }), let quota = configuration.userQuotaBytes {
            throw Self.quotaExceeded(used: quota - (room ?? 0), quota: quota)
        }
        if !items.isEmpty {
            await audit(
                identity, action: "image.upload", targetType: "project", targetID: projectID,
                details: #"{"count":\#(items.count)}"#, context: context)
        }
        context.logger.info(
            "images uploaded", metadata: ["project.id": "\(projectID)", "image.count": "\(items.count)", "image.errors": "\(errors.count)"])
        return UploadBody(items: items, errors: errors)
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<ImageBody> {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "image")
        try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        var status: ImageStatus?
        if let text = request.uri.queryParameters["status"], !text.isEmpty {
            guard let value = ImageStatus(rawValue: String(text)) else {
                let allowed = ImageStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw Problem.validation("status must be one of \(allowed)", errors: [.init(field: "status", detail: "unknown status")])
            }
            status = value
        }
        let page = try await ImageRepository.list(
            projectID: projectID, status: status, page: try request.pageRequest(), on: services.database(context.logger))
        return PageBody(page, ImageBody.init)
    }

    func get(_ context: AppRequestContext) async throws -> ImageBody {
        let identity = try context.requireIdentity()
        let (image, _) = try await services.requireImage(
            try context.pathID(naming: "image"), role: .viewer, for: identity, on: services.database(context.logger))
        return ImageBody(image)
    }

    func delete(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let (image, _) = try await services.requireImage(
            try context.pathID(naming: "image"), role: .editor, for: identity, on: services.database(context.logger))
        let keys = try await ImageRepository.delete(id: image.id, on: services.database(context.logger))
        await audit(
            identity, action: "image.delete", targetType: "image", targetID: image.id,
            details: #"{"projectId":"\#(image.projectID.uuidString.lowercased())"}"#, context: context)
        // The row is gone: the answer is 204 whatever happens to the files. Content is shared between rows, so only
        // objects no row refers to are removed (and none written in the last minutes: see `removeUnreferenced`);
        // `segctl gc` collects whatever is left.
        do {
            try await services.files.removeUnreferenced(keys, references: ObjectReferences(on: services.database(context.logger)))
        } catch {
            context.logger.warning("image files not removed", metadata: ["image.id": "\(image.id)", "error": "\(error)"])
        }
        return .noContent
    }

    func original(_ context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let (image, _) = try await services.requireImage(
            try context.pathID(naming: "image"), role: .viewer, for: identity, on: services.database(context.logger))
        let body = try await services.files.responseBody(image.objectKey)
        var headers = HTTPFields()
        headers[.contentType] = Self.mimeType(image.format)
        headers[.contentDisposition] = UploadFilename.contentDisposition(for: image.name)
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "private, no-store"
        return Response(status: .ok, headers: headers, body: body)
    }

    func thumbnail(_ context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let (image, _) = try await services.requireImage(
            try context.pathID(naming: "image"), role: .viewer, for: identity, on: services.database(context.logger))
        guard let key = image.thumbnailKey else { throw Problem.notFound("thumbnail") }
        let body = try await services.files.responseBody(key)
        var headers = HTTPFields()
        headers[.contentType] = "image/jpeg"
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "private, max-age=3600"
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `GET /api/v1/images/:id/display[?page=&channel=&z=&t=]`: what a browser shows of the image. The first plane is the
    /// stored PNG rendition for TIFFs and deep images, else the original bytes (an 8-bit JPEG, PNG or BMP, which browsers
    /// show as they are). Another plane of a multi-page TIFF is rendered on request (8-bit PNG, percentile stretch).
    func display(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let (image, _) = try await services.requireImage(
            try context.pathID(naming: "image"), role: .viewer, for: identity, on: services.database(context.logger))
        var selection = ImageSelection()
        let keys: [(String, WritableKeyPath<ImageSelection, Int?>)] = [("page", \.page), ("channel", \.channel), ("z", \.z), ("t", \.t)]
        for (name, keyPath) in keys {
            guard let text = request.uri.queryParameters[Substring(name)], !text.isEmpty else { continue }
            guard let value = Int(String(text)), value >= 0 else {
                throw Problem.validation("\(name) must be a whole number from 0", errors: [.init(field: name, detail: "must be ≥ 0")])
            }
            selection[keyPath: keyPath] = value
        }
        do {
            try selection.validate()
        } catch {
            throw Problem.validation(error.description, errors: [.init(field: "page", detail: error.description)])
        }
        let plane = selection
        var headers = HTTPFields()
        headers[.xContentTypeOptions] = "nosniff"
        headers[.cacheControl] = "private, max-age=3600"
        if selection.isFirst {
            let key = image.displayKey ?? image.objectKey
            let body = try await services.files.responseBody(key)
            headers[.contentType] = image.displayKey == nil ? Self.mimeType(image.format) : "image/png"
            return Response(status: .ok, headers: headers, body: body)
        }
        let original = try await services.files.read(image.objectKey)
        let png: [UInt8]
        do {
            let plan = try await CPUWork.pool.runIfActive { try ImagePreviews.plan(of: original, selection: plane, rendition: true) }
            png = try await services.decodeBudget.withReservation(plan.peakBytes) {
                try await CPUWork.pool.runIfActive {
                    try ImagePreviews.make(of: original, selection: plane, thumbnailSide: 1, rendition: true).rendition ?? []
                }
            }
        } catch let error as DecodeBudget.Exceeded {
            throw Problem(.unprocessableContent, code: "IMAGE_TOO_LARGE", detail: error.description)
        } catch let error as SegCoreError {
            throw Problem(.badRequest, code: error.code == "INVALID_ARGUMENT" ? "VALIDATION_FAILED" : error.code, detail: error.description)
        }
        headers[.contentType] = "image/png"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// Records an audit entry; a failure is logged, never the request's failure (the change is already made).
    private func audit(
        _ identity: Identity, action: String, targetType: String, targetID: UUID, details: String, context: AppRequestContext
    ) async {
        do {
            _ = try await AuditLogRepository.record(
                actorID: identity.userID, action: action, targetType: targetType, targetID: targetID, details: Array(details.utf8),
                on: services.database(context.logger))
        } catch {
            context.logger.warning("audit entry not recorded", metadata: ["audit.action": "\(action)", "error": "\(error)"])
        }
    }

    /// The image row of a stored upload, within the owner's quota if there is one.
    private static func insert(
        projectID: UUID, name: String, stored: ImageIngest.Stored, format: ImageRecord.Format, quota: Int64?, on database: Database
    ) async -> Result<ImageRecord, StorageError> {
        do {
            return .success(
                try await ImageRepository.create(
                    projectID: projectID, name: name, objectKey: stored.objectKey, thumbnailKey: stored.thumbnailKey,
                    displayKey: stored.displayKey, width: stored.width, height: stored.height, format: format, pages: stored.pages,
                    bytes: Int64(stored.bytes), quota: quota, on: database))
        } catch {
            return .failure(error)
        }
    }

    /// 413 `QUOTA_EXCEEDED`: the project owner's images already take `used` of `quota` bytes.
    static func quotaExceeded(used: Int64, quota: Int64) -> Problem {
        Problem(
            .contentTooLarge, code: "QUOTA_EXCEEDED",
            detail:
                "the project owner's storage quota (SEG_USER_QUOTA_BYTES, \(quota) bytes) is used up or too small for this: \(used) bytes are stored")
    }

    /// The name an `errors` entry shows: the sanitised client name, or `file` when there is none.
    private static func errorName(_ upload: ReceivedUpload) -> String {
        let name = UploadFilename.sanitized(upload.clientFilename)
        return name.isEmpty ? "file" : name
    }

    private static func mimeType(_ format: ImageRecord.Format) -> String {
        switch format {
        case .png: return ImageFormat.png.mimeType
        case .jpeg: return ImageFormat.jpeg.mimeType
        case .tiff: return ImageFormat.tiff.mimeType
        case .bmp: return ImageFormat.bmp.mimeType
        }
    }
}
