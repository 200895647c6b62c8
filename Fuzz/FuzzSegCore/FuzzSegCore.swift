// libFuzzer target for SegCore's image input path (RELIABILITY.md F1–F4); see Fuzz/README.md.
//
// The first input byte selects the mode:
//   0xFF, 0x89, 0x49, 0x4D or 0x42 (the first byte of a JPEG, PNG, little- or big-endian TIFF,
//     BMP): the whole input goes through every decoder entry point with OSS-Fuzz-like limits
//     (≤ 1 MP), the results are checked against each other, re-encoded as PNG and decoded back
//     exactly, and (with -DSEGHUB_FUZZ_TRACER) traced; the full-precision image (any page of a
//     TIFF, and its display rendition) is decoded, and small ones (≤ 64 K pixels) are segmented
//     with the nuclei preset (declumping included);
//   anything else: byte 1 and 2 give a mask size (1–64 each), the remaining bytes its pixels
//     (non-zero = foreground), and the mask is traced (with -DSEGHUB_FUZZ_TRACER); the decoders
//     also see the bytes (they must refuse them cleanly).
// A crash, an ASan report or a failed precondition is a finding; a thrown SegCoreError is not.
import SegCore

/// Mirrors libjpeg-turbo's OSS-Fuzz harness: at most 1 MP, so one input cannot need much memory.
let fuzzLimits = ImageLimits(maxPixels: 1 << 20, maxDimension: 1 << 14)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else {
        precondition((try? ImageDecoder.info(bytes)) == nil, "empty input decoded")
        return 0
    }
    if [0xFF, 0x89, 0x49, 0x4D, 0x42].contains(first) {
        fuzzDecoders(bytes)
    } else {
        fuzzMask(bytes)
    }
    return 0
}

func fuzzDecoders(_ bytes: [UInt8]) {
    let info: ImageInfo
    do {
        info = try ImageDecoder.info(bytes, limits: fuzzLimits)
    } catch {
        // Whatever the header problem is, decoding must fail too.
        precondition((try? ImageDecoder.decodeGray(bytes, limits: fuzzLimits)) == nil, "decoded after info failed: \(error)")
        return
    }
    precondition(info.width > 0 && info.height > 0 && info.width * info.height <= fuzzLimits.maxPixels)

    if let gray = try? ImageDecoder.decodeGray(bytes, limits: fuzzLimits) {
        precondition(gray.width == info.width && gray.height == info.height && gray.pixels.count == gray.width * gray.height)
        roundTrip(gray)
        trace(gray)
    }
    if let deep = try? ImageDecoder.decodeGray16(bytes, limits: fuzzLimits) {
        precondition(deep.width == info.width && deep.height == info.height && deep.pixels.count == deep.width * deep.height)
        if let png = try? PNGEncoder.encode(deep, compression: 1) {
            precondition((try? ImageDecoder.decodeGray16(png)) == deep, "16-bit PNG round trip differs")
        }
    }
    if let raster = try? ImageDecoder.decodeRaster(bytes, limits: fuzzLimits) {
        precondition(raster.width == info.width && raster.height == info.height && (1...4).contains(raster.channels))
        let count: Int
        switch raster.samples {
        case .uint8(let s): count = s.count
        case .uint16(let s): count = s.count
        case .uint32(let s): count = s.count
        }
        precondition(count == raster.width * raster.height * raster.channels)
    }
    fuzzPlanes(bytes, info: info)
}

/// The full-precision decode of the first and the last page, its display rendition, and the
/// segmenter on small images.
func fuzzPlanes(_ bytes: [UInt8], info: ImageInfo) {
    let pages = info.pages > 1 ? [0, info.pages - 1] : [0]
    for page in pages {
        let selection = ImageSelection(page: page)
        guard let image = try? ImageDecoder.decode(bytes, selection: selection, limits: fuzzLimits) else { continue }
        precondition(image.width == info.width && image.height == info.height || page > 0, "a plane of another size")
        if let view = try? DisplayRendition.pixels(of: bytes, selection: selection, limits: fuzzLimits) {
            precondition(view.width == image.width && view.height == image.height, "display rendition of another size")
        }
        if image.width * image.height <= 1 << 16,
            let result = try? BuiltinSegmenter(parameters: SegmenterParameters(preset: .nuclei)).segment(image)
        {
            precondition(result.mask.width == image.width && result.mask.height == image.height, "mask of another size")
            for polygon in result.polygons {
                for p in polygon.exterior {
                    precondition(p.x >= 0 && p.y >= 0 && p.x <= Double(image.width) && p.y <= Double(image.height), "vertex outside")
                }
            }
        }
    }
}

/// Our own output must decode back to exactly what was encoded.
func roundTrip(_ gray: GrayImage) {
    guard let png = try? PNGEncoder.encode(gray, compression: 1) else { preconditionFailure("PNG encoding failed") }
    precondition((try? ImageDecoder.decodeGray(png)) == gray, "8-bit PNG round trip differs")
    guard let jpeg = try? JPEGEncoder.encode(gray, quality: 50) else { preconditionFailure("JPEG encoding failed") }
    let back = try? ImageDecoder.decodeGray(jpeg)
    precondition(back?.width == gray.width && back?.height == gray.height, "JPEG round trip changed the size")
}

func fuzzMask(_ bytes: [UInt8]) {
    precondition((try? ImageDecoder.decodeGray(bytes, limits: fuzzLimits)) == nil, "non-image bytes decoded")
    guard bytes.count >= 3 else { return }
    let width = Int(bytes[1] % 64) + 1
    let height = Int(bytes[2] % 64) + 1
    var pixels = [UInt8](repeating: 0, count: width * height)
    for (i, b) in bytes.dropFirst(3).prefix(pixels.count).enumerated() { pixels[i] = b }
    guard let gray = try? GrayImage(width: width, height: height, pixels: pixels) else { preconditionFailure("mask size") }
    trace(gray)
}

/// Traces the non-zero pixels of `gray` in both hierarchy/approximation combinations and checks
/// what must hold whatever the mask: every vertex lies on a foreground pixel, parents precede
/// their holes, and SIMPLE keeps a subset of NONE's vertices.
func trace(_ gray: GrayImage) {
    #if SEGHUB_FUZZ_TRACER
    let mask = BinaryMask(nonZeroOf: gray)
    let full = ContourTracer.trace(mask, retrieval: .tree, approximation: .none)
    let simple = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .simple)
    for contours in [full, simple] {
        for (i, c) in contours.enumerated() {
            precondition(!c.points.isEmpty, "empty contour")
            for p in c.points { precondition(mask.isForeground(x: Int(p.x), y: Int(p.y)), "vertex off the foreground") }
            if let parent = c.parent { precondition(parent >= 0 && parent < contours.count && parent != i, "bad parent") }
        }
    }
    precondition(full.count == simple.count, "NONE/TREE and SIMPLE/CCOMP disagree on the number of contours")
    #else
    _ = gray
    #endif
}
