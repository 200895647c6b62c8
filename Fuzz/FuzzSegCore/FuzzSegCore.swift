// libFuzzer target for SegCore's image input path (RELIABILITY.md F1–F4); see Fuzz/README.md.
//
// The first input byte selects the mode:
//   0xFF or 0x89 (the first byte of a JPEG or PNG): the whole input goes through every decoder
//     entry point with OSS-Fuzz-like limits (≤ 1 MP), the results are checked against each other,
//     re-encoded as PNG and decoded back exactly, and (with -DSEGHUB_FUZZ_TRACER) traced;
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
    if first == 0xFF || first == 0x89 {
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
        }
        precondition(count == raster.width * raster.height * raster.channels)
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
