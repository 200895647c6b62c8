import Foundation
import NIOPosix
import SegCore
import SegStorage

/// Turns a received file into file-store objects: the format sniffed from its first bytes, its size and pages from the
/// header, and from one decode of the first plane's 8-bit view the JPEG thumbnail (longest side 256, re-encoded so no
/// metadata survives) and, for originals a browser cannot show as stored (TIFF, more than 8 bits per sample), the PNG
/// display rendition.
enum ImageIngest {
    /// A file that is a decodable image, stored with its thumbnail.
    struct Stored: Sendable {
        var format: ImageFormat
        var width: Int
        var height: Int
        var bytes: Int
        var pages: Int
        var objectKey: ObjectKey
        var thumbnailKey: ObjectKey
        var displayKey: ObjectKey?
    }

    /// What became of a file.
    enum Outcome: Sendable {
        /// Stored in the file store.
        case stored(Stored)
        /// Not a (decodable) JPEG, PNG, TIFF or BMP; nothing was stored.
        case rejected(SegCoreError)
    }

    /// Reads, checks, thumbnails and stores the file at `path`, on ``CPUWork/pool`` (never on the cooperative pool, nor in
    /// front of password hashing).
    /// - Throws: `StorageError` when the file cannot be read or stored.
    static func ingest(path: String, into files: some ObjectStore, limits: ImageLimits = .default) async throws -> Outcome {
        let checked = try await CPUWork.pool.runIfActive { () throws -> Checked in
            let bytes: [UInt8]
            do {
                bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path, isDirectory: false)))
            } catch {
                throw StorageError.fileSystem("upload: read a temporary file failed")
            }
            let info: ImageInfo
            let thumbnail: [UInt8]
            var rendition: [UInt8]?
            do throws(SegCoreError) {
                // The header gives the size (limits checked before any pixel buffer); the 8-bit view is the one decode.
                info = try ImageDecoder.info(bytes, limits: limits)
                let view = try DisplayRendition.pixels(of: bytes, limits: limits)
                thumbnail = try Thumbnailer.jpegThumbnail(of: view, maxSide: 256)
                if DisplayRendition.isNeeded(for: info) {
                    rendition = try PNGEncoder.encode(pixels: view.pixels, width: view.width, height: view.height, channels: view.channels)
                }
            } catch {
                return .rejected(error)
            }
            return .accepted(bytes: bytes, info: info, thumbnail: thumbnail, rendition: rendition)
        }
        switch checked {
        case .rejected(let error):
            return .rejected(error)
        case .accepted(let bytes, let info, let thumbnail, let rendition):
            let objectKey = try await files.put(bytes)
            let thumbnailKey = try await files.put(thumbnail)
            var displayKey: ObjectKey?
            if let rendition { displayKey = try await files.put(rendition) }
            return .stored(
                Stored(
                    format: info.format, width: info.width, height: info.height, bytes: bytes.count, pages: info.pages,
                    objectKey: objectKey, thumbnailKey: thumbnailKey, displayKey: displayKey))
        }
    }

    /// What the thread pool found in the file: what to store, or why not.
    private enum Checked: Sendable {
        case accepted(bytes: [UInt8], info: ImageInfo, thumbnail: [UInt8], rendition: [UInt8]?)
        case rejected(SegCoreError)
    }
}
