import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import SegCore
import SegStorage

/// Segmentation routes: queue and cancel a project's segmentations, read, edit and list an image's versions.
///
/// Queueing writes the images' `queued` status and their `segment` jobs in one transaction (RELIABILITY Q6), so
/// there is never a queued image without a job. Edits are stored as new versions with metrics recomputed by
/// SegCore from exactly the stored rings; old versions stay readable with `?version=N`.
struct SegmentationsController {
    let services: AppServices

    /// The most images one request may name.
    static let maxImageIDs = 10_000

    /// `{"imageIds", "segmenter", "parameters", "priority"}`: `parameters` are read as the named segmenter's.
    struct QueueRequest: Decodable {
        var imageIds: [UUID]? = nil
        var segmenter: String? = nil
        var builtinParameters: ParametersInput? = nil
        var modelParameters: ModelParametersInput? = nil
        var priority: Int? = nil

        init() {}

        private enum Keys: String, CodingKey {
            case imageIds, segmenter, parameters, priority
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            imageIds = try c.decodeIfPresent([UUID].self, forKey: .imageIds)
            segmenter = try c.decodeIfPresent(String.self, forKey: .segmenter)
            priority = try c.decodeIfPresent(Int.self, forKey: .priority)
            // Read both ways (neither throws: each keeps its own verdict); which applies depends on the segmenter,
            // which may be the project's default.
            builtinParameters = try c.decodeIfPresent(ParametersInput.self, forKey: .parameters)
            modelParameters = try c.decodeIfPresent(ModelParametersInput.self, forKey: .parameters)
        }
    }

    struct QueuedBody: ResponseEncodable {
        var queued: Int
    }

    struct CancelledBody: ResponseEncodable {
        var cancelled: Int
    }

    struct EditRequest: Decodable {
        var polygons: [PolygonInput]
    }

    struct VersionBody: Encodable, Sendable {
        var version: Int
        var segmenter: String
        var author: UUID?
        var createdAt: Date
        var polygonCount: Int

        enum CodingKeys: String, CodingKey { case version, segmenter, author, createdAt, polygonCount }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(version, forKey: .version)
            try c.encode(segmenter, forKey: .segmenter)
            try c.encode(author, forKey: .author)  // null for a worker's version
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(polygonCount, forKey: .polygonCount)
        }
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/projects/:id/segmentations") { request, context in
            EditedResponse(status: .accepted, response: try await queue(request, context))
        }
        routes.add(.delete, "/api/v1/projects/:id/segmentations") { request, context in try await cancel(request, context) }
        routes.add(.get, "/api/v1/images/:id/segmentation") { request, context in try await get(request, context) }
        routes.add(.put, "/api/v1/images/:id/segmentation") { request, context in try await update(request, context) }
        routes.add(.get, "/api/v1/images/:id/segmentation/versions") { request, context in try await versions(request, context) }
    }

    // MARK: Queue and cancel

    /// `POST /api/v1/projects/:id/segmentations`: queues the named images, or every image not yet segmented.
    func queue(_ request: Request, _ context: AppRequestContext) async throws -> QueuedBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.editor, in: projectID, for: identity, on: services.database(context.logger))
        // No body at all is the same as `{}`: queue every image not yet segmented with the default parameters.
        let bytes = try await JSONBody.collect(request, context: context)
        let body: QueueRequest
        if bytes.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            body = QueueRequest()
        } else {
            body = try JSONBody.decode(QueueRequest.self, from: bytes)
        }
        var segmenter = body.segmenter ?? SegmentationPayload.builtinName
        if body.segmenter == nil {
            segmenter = try await ProjectRepository.find(id: projectID, on: services.database(context.logger))?.defaultSegmenter ?? segmenter
        }
        guard services.segmenters.knows(segmenter) else {
            let known = ([SegmentationPayload.builtinName] + services.segmenters.order).joined(separator: ", ")
            throw Problem(
                .badRequest, code: "UNKNOWN_SEGMENTER", detail: "no segmenter \"\(segmenter)\" on this server (GET /api/v1/segmenters lists them)",
                errors: [.init(field: "segmenter", detail: "must be one of \(known)")])
        }
        let jobPayload: SegmentationPayload
        if segmenter == SegmentationPayload.builtinName {
            jobPayload = SegmentationPayload(builtin: try body.builtinParameters?.result.get() ?? SegmenterParameters())
        } else {
            jobPayload = SegmentationPayload(model: segmenter, parameters: try body.modelParameters?.result.get() ?? ModelParameters())
        }
        let priority = body.priority ?? 0
        guard (-100...100).contains(priority) else {
            throw Problem.validation(
                "priority must be between -100 and 100", errors: [.init(field: "priority", detail: "must be between -100 and 100")])
        }
        var requested: [UUID]?
        if let ids = body.imageIds {
            guard !ids.isEmpty, ids.count <= Self.maxImageIDs else {
                throw Problem.validation(
                    "imageIds must name 1 to \(Self.maxImageIDs) images; leave it out to queue every image not yet segmented",
                    errors: [.init(field: "imageIds", detail: "must name 1 to \(Self.maxImageIDs) images")])
            }
            var seen = Set<UUID>()
            requested = ids.filter { seen.insert($0).inserted }
        }
        let payload = try NewJob(kind: .segment, encoding: jobPayload).payload
        let outcome = try await services.queue.queueSegmentations(
            projectID: projectID, imageIDs: requested, payload: payload, parameters: Array(try JSONEncoder().encode(jobPayload)),
            priority: priority, actorID: identity.userID, on: services.database(context.logger))
        switch outcome {
        case .queued(let images):
            return QueuedBody(queued: images.count)
        case .unknownImages(let unknown):
            // Unknown ids and another project's images get the same answer.
            let missing = Set(unknown)
            let errors = (requested ?? []).enumerated().filter { missing.contains($0.element) }.prefix(100).map { index, id in
                Problem.FieldError(field: "imageIds[\(index)]", detail: "\(id.uuidString.lowercased()) is not an image of this project")
            }
            throw Problem(
                .badRequest, code: "UNKNOWN_IMAGE", detail: "\(unknown.count) of the images are not in this project", errors: Array(errors))
        }
    }

    /// `DELETE /api/v1/projects/:id/segmentations`: cancels the project's queued (not yet running) segmentations.
    func cancel(_ request: Request, _ context: AppRequestContext) async throws -> CancelledBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.editor, in: projectID, for: identity, on: services.database(context.logger))
        // Locks the images, cancels their queued jobs and gives them back their earlier status.
        let count = try await services.queue.cancelSegmentations(
            projectID: projectID, actorID: identity.userID, on: services.database(context.logger)
        ).count
        return CancelledBody(cancelled: count)
    }

    // MARK: Read and edit

    /// `GET /api/v1/images/:id/segmentation[?version=N]`: the latest (or the named) version.
    func get(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let imageID = try context.pathID(naming: "image")
        _ = try await services.requireImage(imageID, role: .viewer, for: identity, on: services.database(context.logger))
        let record: SegmentationRecord
        do {
            if let text = request.uri.queryParameters["version"] {
                guard let version = Int(String(text)), version > 0 else {
                    throw Problem.validation(
                        "version must be a whole number from 1", errors: [.init(field: "version", detail: "must be a whole number from 1")])
                }
                record = try await SegmentationRepository.version(version, imageID: imageID, on: services.database(context.logger))
            } else {
                record = try await SegmentationRepository.latest(imageID: imageID, on: services.database(context.logger))
            }
        } catch let error as StorageError {
            guard case .notFound = error else { throw error }
            throw Problem(.notFound, code: "NO_SEGMENTATION", detail: "the image has no such segmentation")
        }
        return try Self.response(record)
    }

    /// `PUT /api/v1/images/:id/segmentation`: stores edited polygons as a new `manual` version.
    func update(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let imageID = try context.pathID(naming: "image")
        let (image, _) = try await services.requireImage(imageID, role: .editor, for: identity, on: services.database(context.logger))
        let body = try await JSONBody.decode(
            EditRequest.self, from: request, context: context.limitingBody(to: services.configuration.maxPolygonBodyBytes))
        let inputs = body.polygons
        let width = Double(image.width)
        let height = Double(image.height)
        // Validation and metrics are CPU work proportional to the vertices: keep them off the cooperative pool.
        let limits = services.configuration.polygonLimits
        let polygonsJSON: [UInt8] = try await CPUWork.pool.runIfActive {
            let polygons = try PolygonInput.validated(inputs, width: width, height: height, limits: limits)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            return Array(try encoder.encode(polygons))
        }
        // A correction stays on the plane (page, channel, z, t) of the version it corrects, so the editor keeps
        // showing the image it was drawn on; otherwise its parameters are `{}`.
        var planeJSON = Array("{}".utf8)
        if image.pages > 1, let latest = try? await SegmentationRepository.latest(imageID: imageID, on: services.database(context.logger)) {
            planeJSON = Self.planeKeys(of: latest.parameters)
        }
        let record = try await SegmentationRepository.storeManualVersion(
            imageID: imageID, polygons: polygonsJSON, polygonCount: inputs.count, parameters: planeJSON, authorID: identity.userID,
            on: services.database(context.logger))
        return try Self.response(record)
    }

    /// `GET /api/v1/images/:id/segmentation/versions`: every version, newest first, without polygons.
    func versions(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<VersionBody> {
        let identity = try context.requireIdentity()
        let imageID = try context.pathID(naming: "image")
        _ = try await services.requireImage(imageID, role: .viewer, for: identity, on: services.database(context.logger))
        let versions = try await SegmentationRepository.versions(imageID: imageID, on: services.database(context.logger))
        // Every version in one page: an image has few, and the polygons are not read.
        return PageBody(
            items: versions.map {
                VersionBody(version: $0.version, segmenter: $0.segmenter, author: $0.authorID, createdAt: $0.createdAt, polygonCount: $0.polygonCount)
            },
            nextCursor: nil)
    }

    // MARK: Support

    /// The `page`, `channel`, `z` and `t` keys of stored parameters, as a JSON object (`{}` when there are none).
    static func planeKeys(of parameters: [UInt8]) -> [UInt8] {
        struct Plane: Codable {
            var page: Int?
            var channel: Int?
            var z: Int?
            var t: Int?
        }
        guard let plane = try? JSONDecoder().decode(Plane.self, from: Data(parameters)),
            let encoded = try? JSONEncoder().encode(plane)
        else { return Array("{}".utf8) }
        return Array(encoded)
    }

    /// `{imageId, version, polygons, parameters, segmenter, createdAt, author}` with the stored JSON passed through.
    static func response(_ record: SegmentationRecord) throws -> Response {
        struct Head: Encodable {
            var imageId: UUID
            var version: Int
            var segmenter: String
            var createdAt: Date
            var author: UUID?

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(imageId, forKey: .imageId)
                try c.encode(version, forKey: .version)
                try c.encode(segmenter, forKey: .segmenter)
                try c.encode(createdAt, forKey: .createdAt)
                try c.encode(author, forKey: .author)  // null, not absent, for a worker's version
            }

            enum CodingKeys: String, CodingKey { case imageId, version, segmenter, createdAt, author }
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        var bytes = Array(
            try encoder.encode(
                Head(
                    imageId: record.imageID, version: record.version, segmenter: record.segmenter, createdAt: record.createdAt,
                    author: record.authorID)
            ))
        // The polygons and parameters are stored JSON: spliced in as they are, not decoded and re-encoded.
        guard bytes.last == UInt8(ascii: "}") else { throw Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "encoding failed") }
        bytes.removeLast()
        bytes += Array(#","polygons":"#.utf8) + record.polygons + Array(#","parameters":"#.utf8) + record.parameters + [UInt8(ascii: "}")]
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
