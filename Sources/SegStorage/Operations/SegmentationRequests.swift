import Foundation
import Logging
import PostgresNIO

/// What queueing segmentations did.
public enum SegmentationQueueOutcome: Sendable, Equatable {
    /// These images are now `queued`, each with its `segment` job.
    case queued([UUID])
    /// Some of the named images are not in the project (or do not exist): nothing was queued.
    /// The ids are the unknown ones, in the order they were named.
    case unknownImages([UUID])
}

/// The cross-table requests of segmentation, each one transaction: queue, cancel, and store a
/// person's corrected version. SegHTTP's routes call these; nothing above SegStorage opens a
/// transaction for them.
extension JobQueue {
    /// Marks images `queued` and adds their `segment` jobs in one transaction (RELIABILITY Q6: never
    /// a queued image without a job), with the audit entry `segmentation.queue`.
    /// - Parameters:
    ///   - imageIDs: The images (duplicates already removed), or `nil` for every image of the
    ///     project that is not segmented yet.
    ///   - payload: The jobs' JSON payload; `parameters` its segmenter parameters, for the audit entry.
    ///   - database: Where to run; its logger should be the request's.
    /// - Returns: `.unknownImages` (and nothing changed) when an id is not an image of the project.
    public func queueSegmentations(
        projectID: UUID, imageIDs: [UUID]?, payload: String, parameters: [UInt8], priority: Int, actorID: UUID,
        on database: Database
    ) async throws(StorageError) -> SegmentationQueueOutcome {
        var unknown: [UUID] = []
        do {
            let images = try await database.transaction { database in
                let images: [UUID]
                if let imageIDs {
                    images = try await ImageRepository.setStatus(.queued, ids: imageIDs, projectID: projectID, on: database)
                    if images.count != imageIDs.count {
                        let found = Set(images)
                        unknown = imageIDs.filter { !found.contains($0) }
                        throw StorageError.invalidArgument("unknown images")  // rolls the statuses back
                    }
                } else {
                    let candidates = try await ImageRepository.unsegmentedIDs(projectID: projectID, on: database)
                    images = try await ImageRepository.setStatus(
                        .queued, ids: candidates, projectID: projectID, on: database)
                }
                let jobs = images.map { image in
                    NewJob(kind: .segment, payload: payload, priority: priority, userID: actorID, projectID: projectID, imageID: image)
                }
                if !jobs.isEmpty { _ = try await enqueue(jobs, on: database) }
                let details = Array(#"{"queued": \#(images.count), "priority": \#(priority), "parameters": "#.utf8) + parameters + Array("}".utf8)
                _ = try await AuditLogRepository.record(
                    actorID: actorID, action: "segmentation.queue", targetType: "project", targetID: projectID, details: details,
                    on: database)
                return images
            }
            return .queued(images)
        } catch {
            if !unknown.isEmpty { return .unknownImages(unknown) }
            throw error
        }
    }

    /// Cancels the project's queued (not yet running) segmentations and gives their images back
    /// their earlier status, with the audit entry `segmentation.cancel`, in one transaction.
    /// - Returns: The images whose jobs were cancelled.
    public func cancelSegmentations(projectID: UUID, actorID: UUID, on database: Database) async throws(StorageError) -> [UUID] {
        try await database.transaction { database in
            let images = try await cancelQueuedSegmentations(project: projectID, on: database)
            _ = try await AuditLogRepository.record(
                actorID: actorID, action: "segmentation.cancel", targetType: "project", targetID: projectID,
                details: Array(#"{"cancelled": \#(images.count)}"#.utf8), on: database)
            return images
        }

    }
}

extension SegmentationRepository {
    /// Stores a person's corrected polygons as a new `manual` version, marks the image edited (a
    /// pending job sets its status itself when it finishes) and writes the audit entry
    /// `segmentation.edit`, in one transaction.
    /// - Parameters:
    ///   - polygons: The validated, measured polygons as JSON; `polygonCount` how many.
    ///   - parameters: The plane keys the correction belongs to, as a JSON object (`{}` for none).
    ///   - database: Where to run; its logger should be the request's.
    public static func storeManualVersion(
        imageID: UUID, polygons: [UInt8], polygonCount: Int, parameters: [UInt8], authorID: UUID,
        on database: Database
    ) async throws(StorageError) -> SegmentationRecord {
        try await database.transaction { database in
            let record = try await Self.addVersion(
                imageID: imageID, polygons: polygons, parameters: parameters, segmenter: "manual", authorID: authorID,
                on: database)
            // The image row is locked by addVersion.
            try await ImageRepository.markEdited(id: imageID, on: database)
            _ = try await AuditLogRepository.record(
                actorID: authorID, action: "segmentation.edit", targetType: "image", targetID: imageID,
                details: Array(#"{"version": \#(record.version), "polygons": \#(polygonCount)}"#.utf8), on: database)
            return record
        }

    }
}
