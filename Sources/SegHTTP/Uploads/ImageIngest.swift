import Foundation
import NIOPosix
import SegCore
import SegStorage

/// Turns a received file into file-store objects: the format sniffed from its first bytes, its size and pages from the
/// header, and from the first plane's 8-bit view (read band by band where the file allows) the JPEG thumbnail (longest side 256, re-encoded so no
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
        /// Not a (decodable) JPEG, PNG, TIFF or BMP, or too large to decode within the budget; nothing was stored.
        /// `code` is the upload error's code (`IMAGE_CORRUPT`, `IMAGE_TOO_LARGE`, …).
        case rejected(code: String, detail: String)
    }

    /// Reads, checks, thumbnails and stores the file at `path`, on ``CPUWork/pool`` (never on the cooperative pool, nor in
    /// front of password hashing). The previews are made band by band where the file allows
    /// (``SegCore/ImagePreviews``), within `budget`: their planned peak is reserved first.
    /// - Throws: `StorageError` when the file cannot be read or stored.
    static func ingest(
        path: String, into files: some ObjectStore, budget: DecodeBudget, limits: ImageLimits = .default
    ) async throws -> Outcome {
        let checked = try await CPUWork.pool.runIfActive { () throws -> Checked in
            let bytes: [UInt8]
            do {
                bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path, isDirectory: false)))
            } catch {
                throw StorageError.fileSystem("upload: read a temporary file failed")
            }
            do throws(SegCoreError) {
                // The header gives the size (limits checked before any pixel buffer) and the plan its peak memory.
                let info = try ImageDecoder.info(bytes, limits: limits)
                let plan = try ImagePreviews.plan(of: bytes, rendition: DisplayRendition.isNeeded(for: info), limits: limits)
                return .planned(bytes: bytes, info: info, peak: plan.peakBytes)
            } catch {
                return .rejected(error)
            }
        }
        guard case .planned(let bytes, let info, let peak) = checked else {
            if case .rejected(let error) = checked { return .rejected(code: error.code, detail: error.description) }
            throw StorageError.fileSystem("upload: the file was neither planned nor rejected")
        }
        let made: Result<ImagePreviews.Previews, SegCoreError>
        do {
            made = try await budget.withReservation(peak) {
                try await CPUWork.pool.runIfActive { () -> Result<ImagePreviews.Previews, SegCoreError> in
                    do throws(SegCoreError) {
                        return .success(try ImagePreviews.make(of: bytes, rendition: DisplayRendition.isNeeded(for: info), limits: limits))
                    } catch {
                        return .failure(error)
                    }
                }
            }
        } catch let error as DecodeBudget.Exceeded {
            return .rejected(code: "IMAGE_TOO_LARGE", detail: error.description)
        }
        let previews: ImagePreviews.Previews
        switch made {
        case .failure(let error): return .rejected(code: error.code, detail: error.description)
        case .success(let made): previews = made
        }
        // The objects are written at once (a remote store answers each after a round trip); should one fail, the others
        // are orphans that `segctl gc` removes, and no row is written.
        async let original = files.put(bytes)
        async let thumbnail = files.put(previews.thumbnail)
        async let display = store(previews.rendition, in: files)
        let (objectKey, thumbnailKey, displayKey) = try await (original, thumbnail, display)
        return .stored(
            Stored(
                format: info.format, width: info.width, height: info.height, bytes: bytes.count, pages: info.pages,
                objectKey: objectKey, thumbnailKey: thumbnailKey, displayKey: displayKey))
    }

    /// Stores `bytes` when there are any.
    private static func store(_ bytes: [UInt8]?, in files: some ObjectStore) async throws -> ObjectKey? {
        guard let bytes else { return nil }
        return try await files.put(bytes)
    }

    /// What the thread pool found in the file: what to store, or why not.
    private enum Checked: Sendable {
        case planned(bytes: [UInt8], info: ImageInfo, peak: Int)
        case rejected(SegCoreError)
    }
}
