/// How the planes of an OME-TIFF or an ImageJ hyperstack map to TIFF pages, read from the first
/// page's ImageDescription.
///
/// OME-TIFF: the first image's `Pixels` element (`DimensionOrder`, `SizeC`, `SizeZ`, `SizeT`) and
/// its `TiffData` elements (`IFD`, `FirstC`, `FirstZ`, `FirstT`, `PlaneCount`, with the schema's
/// defaults). ImageJ: the `channels=`, `slices=` and `frames=` lines, planes in CZT order.
struct TIFFHyperstack: Equatable {
    enum Kind: Equatable {
        case ome
        case imagej
    }

    /// A dimension of the plane grid.
    enum Axis: Character, Equatable {
        case channel = "C"
        case z = "Z"
        case t = "T"
    }

    /// A run of consecutive planes (in dimension order) stored in consecutive pages.
    struct Block: Equatable {
        var firstPlane: Int
        var planeCount: Int
        var firstPage: Int
        /// Set when the planes live in another file of a multi-file OME-TIFF.
        var otherFile: String?
    }

    let kind: Kind
    let sizeC: Int
    let sizeZ: Int
    let sizeT: Int
    /// The three axes, fastest-varying first.
    let order: [Axis]
    /// Where planes are stored; empty means plane `p` is page `p`.
    let blocks: [Block]

    /// The page holding channel `c`, slice `z`, time point `t`.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when an index is out of range or the plane is not in this file.
    func page(channel c: Int, z: Int, t: Int, pageCount: Int) throws(SegCoreError) -> Int {
        for (name, value, size) in [("channel", c, sizeC), ("z", z, sizeZ), ("t", t, sizeT)] where value >= size {
            throw .invalidArgument("\(name) \(value) is out of range: the file has \(size) (0–\(size - 1))")
        }
        var plane = 0
        var stride = 1
        for axis in order {
            let (index, size) = axis == .channel ? (c, sizeC) : axis == .z ? (z, sizeZ) : (t, sizeT)
            plane += index * stride
            stride *= size
        }
        var page = plane
        if !blocks.isEmpty {
            guard let block = blocks.first(where: { plane >= $0.firstPlane && plane < $0.firstPlane + $0.planeCount }) else {
                throw .invalidArgument("the file's OME metadata stores no page for channel \(c), z \(z), t \(t)")
            }
            if let other = block.otherFile {
                throw .invalidArgument("channel \(c), z \(z), t \(t) is stored in another file of this OME-TIFF set (\(other))")
            }
            page = block.firstPage + plane - block.firstPlane
        }
        guard page < pageCount else {
            throw .invalidArgument("channel \(c), z \(z), t \(t) would be page \(page), but the file has \(pageCount) pages")
        }
        return page
    }

    /// Reads the layout from an ImageDescription, or `nil` when it describes no hyperstack.
    static func parse(_ description: String, pageCount: Int) -> TIFFHyperstack? {
        if description.hasPrefix("ImageJ=") { return imageJ(description) }
        if description.contains("<OME") || description.contains(":OME") { return ome(description, pageCount: pageCount) }
        return nil
    }

    private static func imageJ(_ text: String) -> TIFFHyperstack? {
        var values: [Substring: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            if let v = Int(trimmed(line[line.index(after: eq)...])) { values[line[..<eq]] = v }
        }
        let c = max(1, values["channels"] ?? 1)
        let z = max(1, values["slices"] ?? 1)
        let t = max(1, values["frames"] ?? 1)
        return TIFFHyperstack(kind: .imagej, sizeC: c, sizeZ: z, sizeT: t, order: [.channel, .z, .t], blocks: [])
    }

    private static func ome(_ text: String, pageCount: Int) -> TIFFHyperstack? {
        let tags = XMLTagScanner.tags(in: text)
        let ownUUID = tags.first { $0.name == "OME" }?.attributes["UUID"]
        guard let pixelsIndex = tags.firstIndex(where: { $0.name == "Pixels" && !$0.isClosing }) else { return nil }
        let pixels = tags[pixelsIndex]
        func size(_ key: String) -> Int { max(1, Int(pixels.attributes[key] ?? "") ?? 1) }
        let sizeC = size("SizeC")
        let sizeZ = size("SizeZ")
        let sizeT = size("SizeT")
        var order: [Axis] = []
        for ch in (pixels.attributes["DimensionOrder"] ?? "XYZCT").dropFirst(2) {
            if let axis = Axis(rawValue: ch), !order.contains(axis) { order.append(axis) }
        }
        if order.count != 3 { order = [.z, .channel, .t] }
        let total = sizeC * sizeZ * sizeT
        var blocks: [Block] = []
        var i = pixelsIndex + 1
        while i < tags.count, !(tags[i].name == "Pixels" && tags[i].isClosing) {
            let tag = tags[i]
            i += 1
            guard tag.name == "TiffData", !tag.isClosing else { continue }
            let a = tag.attributes
            let ifd = Int(a["IFD"] ?? "") ?? 0
            let count = Int(a["PlaneCount"] ?? "") ?? (a["IFD"] != nil ? 1 : min(total, pageCount))
            let firstC = Int(a["FirstC"] ?? "") ?? 0
            let firstZ = Int(a["FirstZ"] ?? "") ?? 0
            let firstT = Int(a["FirstT"] ?? "") ?? 0
            var first = 0
            var stride = 1
            for axis in order {
                let (index, s) = axis == .channel ? (firstC, sizeC) : axis == .z ? (firstZ, sizeZ) : (firstT, sizeT)
                first += index * stride
                stride *= s
            }
            // A UUID child names the file holding these planes; it is ours when it matches the root's UUID.
            var other: String?
            if !tag.isSelfClosing, i < tags.count, tags[i].name == "UUID", !tags[i].isClosing {
                let uuid = trimmed(tags[i].text[...])
                if let ownUUID, uuid != ownUUID { other = tags[i].attributes["FileName"] ?? uuid }
                if ownUUID == nil, let name = tags[i].attributes["FileName"] { other = name }
            }
            guard ifd >= 0, count > 0, first >= 0 else { continue }
            blocks.append(Block(firstPlane: first, planeCount: count, firstPage: ifd, otherFile: other))
        }
        return TIFFHyperstack(kind: .ome, sizeC: sizeC, sizeZ: sizeZ, sizeT: sizeT, order: order, blocks: blocks)
    }
}

/// `text` without leading and trailing spaces, tabs and line breaks.
private func trimmed(_ text: Substring) -> String {
    let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
    guard let start = text.firstIndex(where: { !blank($0) }), let end = text.lastIndex(where: { !blank($0) }) else { return "" }
    return String(text[start...end])
}

/// A tolerant scanner of XML start and end tags: enough to read OME-XML's attributes without an
/// XML library (namespace prefixes are dropped, entities in values are left as they are).
enum XMLTagScanner {
    struct Tag: Equatable {
        var name: String
        var attributes: [String: String]
        var isClosing: Bool
        var isSelfClosing: Bool
        /// The text between this start tag and the next tag.
        var text: String
    }

    static func tags(in text: String) -> [Tag] {
        let bytes = Array(text.utf8)
        var tags: [Tag] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            // Skip comments, processing instructions and declarations.
            if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "?") || bytes[i + 1] == UInt8(ascii: "!") {
                while i < bytes.count, bytes[i] != UInt8(ascii: ">") { i += 1 }
                continue
            }
            var j = i + 1
            var quote: UInt8 = 0
            while j < bytes.count {
                let b = bytes[j]
                if quote != 0 {
                    if b == quote { quote = 0 }
                } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                    quote = b
                } else if b == UInt8(ascii: ">") {
                    break
                }
                j += 1
            }
            guard j < bytes.count else { break }
            var tag = parseTag(bytes[(i + 1)..<j])
            var k = j + 1
            while k < bytes.count, bytes[k] != UInt8(ascii: "<") { k += 1 }
            tag.text = String(decoding: bytes[(j + 1)..<k], as: UTF8.self)
            tags.append(tag)
            i = k
        }
        return tags
    }

    private static func parseTag(_ body: ArraySlice<UInt8>) -> Tag {
        var s = body[...]
        let closing = s.first == UInt8(ascii: "/")
        if closing { s = s.dropFirst() }
        let selfClosing = s.last == UInt8(ascii: "/")
        if selfClosing { s = s.dropLast() }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        let nameEnd = s.firstIndex(where: isSpace) ?? s.endIndex
        var name = String(decoding: s[s.startIndex..<nameEnd], as: UTF8.self)
        if let colon = name.lastIndex(of: ":") { name = String(name[name.index(after: colon)...]) }
        var attributes: [String: String] = [:]
        var p = nameEnd
        while p < s.endIndex {
            while p < s.endIndex, isSpace(s[p]) { p += 1 }
            let keyStart = p
            while p < s.endIndex, s[p] != UInt8(ascii: "="), !isSpace(s[p]) { p += 1 }
            var key = String(decoding: s[keyStart..<p], as: UTF8.self)
            if let colon = key.lastIndex(of: ":") { key = String(key[key.index(after: colon)...]) }
            while p < s.endIndex, isSpace(s[p]) || s[p] == UInt8(ascii: "=") { p += 1 }
            guard p < s.endIndex, s[p] == UInt8(ascii: "\"") || s[p] == UInt8(ascii: "'") else {
                if key.isEmpty { break }
                continue
            }
            let q = s[p]
            p += 1
            let valueStart = p
            while p < s.endIndex, s[p] != q { p += 1 }
            if !key.isEmpty { attributes[key] = String(decoding: s[valueStart..<p], as: UTF8.self) }
            p += 1
        }
        return Tag(name: name, attributes: attributes, isClosing: closing, isSelfClosing: selfClosing, text: "")
    }
}
