/// Everything SegCore can fail with. Each case says what went wrong in terms a person can act on;
/// none of them carries more than a short, bounded message from the C libraries.
public enum SegCoreError: Error, Sendable, Equatable {
    /// The bytes are neither a JPEG nor a PNG (recognised by their first bytes only).
    case unsupportedImageFormat
    /// The file is empty.
    case emptyInput
    /// The file ends before the image data is complete.
    case truncatedImage(String)
    /// The file is damaged (bad markers, checksums, Huffman codes, …).
    case corruptImage(String)
    /// A variant of a known format SegHub does not decode (12-bit or lossless JPEG, a TIFF compression
    /// libtiff was built without, for example).
    case unsupportedImageFeature(String)
    /// The header declares more pixels or a longer side than the limits allow.
    case imageTooLarge(width: Int, height: Int, limits: ImageLimits)
    /// An encoder failed (PNG or JPEG writing).
    case encodingFailed(String)
    /// A caller passed an argument that cannot be used (negative size, mismatched buffer, …).
    case invalidArgument(String)
    /// A polygon cannot be measured or exported (fewer than three vertices where an area is needed, …).
    case invalidPolygon(String)
}

extension SegCoreError: CustomStringConvertible {
    /// A one-line message suitable for logs and CLI output.
    public var description: String {
        switch self {
        case .unsupportedImageFormat: return "unsupported image format (not a JPEG, PNG, TIFF or BMP)"
        case .emptyInput: return "the file is empty"
        case .truncatedImage(let message): return "truncated image: \(message)"
        case .corruptImage(let message): return "corrupt image: \(message)"
        case .unsupportedImageFeature(let message): return "unsupported image feature: \(message)"
        case .imageTooLarge(let width, let height, let limits):
            return
                "image too large: \(width)×\(height) exceeds the limit of \(limits.maxPixels) pixels or \(limits.maxDimension) pixels per side"
        case .encodingFailed(let message): return "encoding failed: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        case .invalidPolygon(let message): return "invalid polygon: \(message)"
        }
    }

    /// A stable upper-snake identifier, the same one the HTTP API reports as `code`.
    public var code: String {
        switch self {
        case .unsupportedImageFormat: return "UNSUPPORTED_IMAGE_FORMAT"
        case .emptyInput: return "EMPTY_FILE"
        case .truncatedImage: return "IMAGE_TRUNCATED"
        case .corruptImage: return "IMAGE_CORRUPT"
        case .unsupportedImageFeature: return "UNSUPPORTED_IMAGE_FEATURE"
        case .imageTooLarge: return "IMAGE_TOO_LARGE"
        case .encodingFailed: return "ENCODING_FAILED"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .invalidPolygon: return "INVALID_POLYGON"
        }
    }
}
