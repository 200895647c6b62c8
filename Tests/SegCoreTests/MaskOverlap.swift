@testable import SegCore

/// Intersection over union of two masks' foregrounds (1 when both are empty).
func foregroundIoU(_ a: BinaryMask, _ b: BinaryMask) -> Double {
    precondition(a.width == b.width && a.height == b.height)
    var inter = 0
    var union = 0
    for i in a.pixels.indices {
        let p = a.pixels[i] != 0
        let q = b.pixels[i] != 0
        if p && q { inter += 1 }
        if p || q { union += 1 }
    }
    return union == 0 ? 1 : Double(inter) / Double(union)
}
