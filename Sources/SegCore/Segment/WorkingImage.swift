/// The samples the segmenter computes on: 8-bit images as they are, 16-bit images exactly as
/// they are, and float images quantised linearly to 16 bits over their finite range (65 536
/// levels between the smallest and the largest value). ``SampleMap`` converts working values back
/// to the image's own units, so thresholds are reported in those.
enum WorkingImage {
    case uint8(GrayImage)
    case uint16(GrayImage16, SampleMap)

    /// `value = offset + scale · working`.
    struct SampleMap: Equatable {
        var offset: Double
        var scale: Double
        static let identity = SampleMap(offset: 0, scale: 1)

        func value(_ working: Double) -> Double { offset + scale * working }
        func working(_ value: Double) -> Double { (value - offset) / scale }
    }

    init(_ image: AnyGrayImage) {
        switch image {
        case .uint8(let g): self = .uint8(g)
        case .uint16(let g): self = .uint16(g, .identity)
        case .float32(let g):
            let q = Self.quantized(g)
            self = .uint16(q.image, q.map)
        }
    }

    var width: Int {
        switch self {
        case .uint8(let g): return g.width
        case .uint16(let g, _): return g.width
        }
    }

    var height: Int {
        switch self {
        case .uint8(let g): return g.height
        case .uint16(let g, _): return g.height
        }
    }

    var map: SampleMap {
        switch self {
        case .uint8: return .identity
        case .uint16(_, let m): return m
        }
    }

    /// Whether working values are the image's own integers (8- and 16-bit sources).
    var isInteger: Bool { map == .identity }

    /// A float image on 16 bits: its finite range spread over 0–65535 (NaN and −∞ become 0, +∞ 65535).
    static func quantized(_ g: GrayImageFloat) -> (image: GrayImage16, map: SampleMap) {
        let range = FiniteRange(g.pixels)
        let low = range.count > 0 ? range.min : 0
        let span = range.count > 0 ? range.max - range.min : 0
        let scale = span > 0 ? span / 65535 : 1
        let factor = Float(span > 0 ? 65535 / span : 0)
        let lowF = Float(low)
        var out = [UInt16](repeating: 0, count: g.pixels.count)
        g.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count {
                    let v = src[i]
                    if v.isNaN { continue }
                    dst[i] = UInt16(min(65535, max(0, ((v - lowF) * factor).rounded())))
                }
            }
        }
        return (GrayImage16(unchecked: g.width, g.height, out), SampleMap(offset: low, scale: scale))
    }
}
