/// A foreground/background mask: a pixel is foreground when its byte is non-zero.
///
/// Everything outside the mask counts as background, as in OpenCV's `findContours`.
public struct BinaryMask: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` bytes, row by row; non-zero is foreground.
    public var pixels: [UInt8]

    /// Wraps existing bytes; `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(SegCoreError) {
        guard width >= 0, height >= 0, pixels.count == width * height else {
            throw .invalidArgument("mask buffer of \(pixels.count) bytes does not match \(width)×\(height)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An all-background mask.
    public init(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "negative mask size")
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: 0, count: width * height)
    }

    /// Foreground wherever `image` is non-zero.
    public init(nonZeroOf image: GrayImage) {
        self.width = image.width
        self.height = image.height
        self.pixels = image.pixels
    }

    /// Whether the pixel at (`x`, `y`) is foreground; outside the mask is background.
    @inlinable public func isForeground(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < width, y < height else { return false }
        return pixels[y * width + x] != 0
    }

    /// Sets the pixel at (`x`, `y`) to foreground (255) or background (0).
    @inlinable public mutating func set(x: Int, y: Int, _ foreground: Bool) {
        pixels[y * width + x] = foreground ? 255 : 0
    }

    /// Number of foreground pixels.
    public var foregroundCount: Int {
        pixels.withUnsafeBufferPointer { buf in
            var n = 0
            for v in buf where v != 0 { n += 1 }
            return n
        }
    }

    /// The mask as an 8-bit image with foreground 255 and background 0.
    public var image: GrayImage {
        var out = GrayImage(width: width, height: height)
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = src[i] != 0 ? 255 : 0 }
            }
        }
        return out
    }
}
