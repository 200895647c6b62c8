import Foundation
import Logging
import PostgresNIO

extension JobQueue {
    /// Stores an export request, its `export` job and the audit entry `export.create` in one
    /// transaction: an export is never without the job that builds it.
    /// - Parameters:
    ///   - payload: The job's JSON payload for the new export's id (the worker defines it).
    ///   - database: Where to run; its logger should be the request's.
    /// - Returns: The export, with its job attached.
    public func createExport(
        projectID: UUID, userID: UUID, formats: [ExportFormat], options: ExportOptions,
        payload: @Sendable (_ exportID: UUID) throws -> String,
        on database: Database
    ) async throws(StorageError) -> ExportRecord {
        return try await database.transaction { database in
            let export = try await ExportRepository.create(
                projectID: projectID, userID: userID, formats: formats, options: options, jobID: nil, on: database)
            let job = NewJob(kind: .export, payload: try payload(export.id), userID: userID, projectID: projectID)
            let enqueued = try await enqueue([job], on: database)
            guard let jobID = enqueued.first?.id else { throw StorageError.database(sqlState: nil) }
            let record = try await ExportRepository.attachJob(id: export.id, jobID: jobID, on: database)
            let details = try JSONEncoder.sortedKeysEncoder.encode([
                "exportId": record.id.uuidString.lowercased(), "formats": record.formats.map(\.rawValue).joined(separator: ","),
            ])
            _ = try await AuditLogRepository.record(
                actorID: userID, action: "export.create", targetType: "project", targetID: projectID, details: Array(details),
                on: database)
            return record
        }

    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, for audit details that read the same every time.
    static var sortedKeysEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
