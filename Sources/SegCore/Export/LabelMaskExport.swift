/// Label masks: every polygon of an image filled with its own value, for tools that read instance masks.
///
/// The `i`-th polygon of the image (counting from 1, in input order) gets value `i`; background and hole interiors
/// are 0, a polygon's boundary pixels are its own (DESIGN.md's pixel convention, as ``PolygonRasterizer``), and where
/// polygons overlap the later one wins. Up to 255 polygons give an 8-bit gray PNG, more a 16-bit one; more than
/// 65 535 cannot be labelled.
///
/// ## Usage
/// ```swift
/// let png = try LabelMaskExport.png(image)
/// ```
public enum LabelMaskExport {
    /// A label image in the narrowest sample type that holds every label.
    public enum Labels: Sendable, Equatable {
        /// At most 255 polygons.
        case uint8(GrayImage)
        /// 256 to 65 535 polygons.
        case uint16(GrayImage16)
    }

    /// The label image of `image`.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` for more than 65 535 polygons,
    ///   ``SegCoreError/invalidPolygon(_:)`` for a non-finite coordinate.
    public static func labels(_ image: ExportImage) throws(SegCoreError) -> Labels {
        try image.validate()
        let count = image.polygons.count
        guard count <= Int(UInt16.max) else {
            throw .invalidArgument("\(count) polygons do not fit in a 16-bit label mask (at most 65535)")
        }
        if count <= Int(UInt8.max) {
            var out = GrayImage(width: image.width, height: image.height)
            out.pixels.withUnsafeMutableBufferPointer { paint(image, into: $0) }
            return .uint8(out)
        }
        var out = try GrayImage16(
            width: image.width, height: image.height, pixels: [UInt16](repeating: 0, count: image.width * image.height))
        out.pixels.withUnsafeMutableBufferPointer { paint(image, into: $0) }
        return .uint16(out)
    }

    /// The label image of `image` encoded as PNG (8-bit gray, or 16-bit gray above 255 polygons).
    /// - Throws: what ``labels(_:)`` throws, and ``SegCoreError/encodingFailed(_:)`` from the PNG encoder.
    public static func png(_ image: ExportImage) throws(SegCoreError) -> [UInt8] {
        switch try labels(image) {
        case .uint8(let gray): return try PNGEncoder.encode(gray)
        case .uint16(let gray): return try PNGEncoder.encode(gray)
        }
    }

    /// Pastes each polygon's footprint with its label; only its bounding box is visited.
    static func paint<T: FixedWidthInteger>(_ image: ExportImage, into buffer: UnsafeMutableBufferPointer<T>) {
        for (i, polygon) in image.polygons.enumerated() {
            guard
                let footprint = PolygonRasterizer.footprint(
                    exterior: polygon.exterior, holes: polygon.holes, width: image.width, height: image.height)
            else { continue }
            let label = T(truncatingIfNeeded: i + 1)
            let crop = footprint.mask
            crop.pixels.withUnsafeBufferPointer { px in
                for cy in 0..<crop.height {
                    let src = cy * crop.width
                    let dst = (footprint.y + cy) * image.width + footprint.x
                    for cx in 0..<crop.width where px[src + cx] != 0 {
                        buffer[dst + cx] = label
                    }
                }
            }
        }
    }
}
