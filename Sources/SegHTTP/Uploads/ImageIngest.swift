import Foundation
import NIOPosix
import SegCore
import SegStorage

/// Turns a received file into file-store objects: the format sniffed from its first bytes, its size from the header,
/// the JPEG thumbnail (longest side 256, re-encoded so no metadata survives) from one decode.
enum ImageIngest {
    /// A file that is a decodable image, stored with its thumbnail.
    struct Stored: Sendable {
        var format: ImageFormat
        var width: Int
        var height: Int
        var bytes: Int
        var objectKey: ObjectKey
        var thumbnailKey: ObjectKey
    }

    /// What became of a file.
    enum Outcome: Sendable {
        /// Stored in the file store.
        case stored(Stored)
        /// Not a (decodable) JPEG or PNG; nothing was stored.
        case rejected(SegCoreError)
    }

    /// Reads, checks, thumbnails and stores the file at `path`, on `NIOThreadPool.singleton` (never on the cooperative pool).
    /// - Throws: `StorageError` when the file cannot be read or stored.
    static func ingest(path: String, into files: FileStore, limits: ImageLimits = .default) async throws -> Outcome {
        try await NIOThreadPool.singleton.runIfActive {
            let bytes: [UInt8]
            do {
                bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path, isDirectory: false)))
            } catch {
                throw StorageError.fileSystem("upload: read a temporary file failed")
            }
            let info: ImageInfo
            let thumbnail: [UInt8]
            do throws(SegCoreError) {
                // The header gives the size (limits checked before any pixel buffer); the thumbnail is the one decode.
                info = try ImageDecoder.info(bytes, limits: limits)
                thumbnail = try Thumbnailer.jpegThumbnail(of: bytes, maxSide: 256, limits: limits)
            } catch {
                return .rejected(error)
            }
            let objectKey = try files.put(bytes)
            let thumbnailKey = try files.put(thumbnail)
            return .stored(
                Stored(
                    format: info.format, width: info.width, height: info.height, bytes: bytes.count, objectKey: objectKey,
                    thumbnailKey: thumbnailKey))
        }
    }
}
