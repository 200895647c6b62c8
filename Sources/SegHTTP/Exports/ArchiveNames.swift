import Foundation

/// Gives each exported image a file name that is safe inside a ZIP and unique in it.
///
/// An uploaded name is metadata (RELIABILITY U5): it may hold slashes, `..`, control characters, characters Windows
/// refuses, or repeat another image's name. Every per-image entry (`yolo/<stem>.txt`, `masks/<stem>.png`, …) is named
/// after the stem, so stems are unique without regard to case (`Cells.png` and `cells.jpg` would otherwise collide on
/// case-insensitive file systems once extracted): a repeated stem gets `_2`, `_3`, … appended.
struct ArchiveNames {
    /// Stems given so far, lowercased.
    private var taken: Set<String> = []

    /// The longest stem, in characters.
    static let maximumStemLength = 120

    /// A safe, unique `(stem, fileName)` for an image called `name` stored as `format` (`png` or `jpeg`).
    mutating func allocate(for name: String, format: String) -> (stem: String, fileName: String) {
        let (stem, ext) = Self.split(Self.sanitized(name), format: format)
        var candidate = stem
        var counter = 1
        while taken.contains(candidate.lowercased()) {
            counter += 1
            candidate = "\(stem)_\(counter)"
        }
        taken.insert(candidate.lowercased())
        return (candidate, "\(candidate).\(ext)")
    }

    /// `name` without directories, control characters or characters that Windows and shells treat specially.
    static func sanitized(_ name: String) -> String {
        // Only the last path component: neither `/` nor `\` may make a directory.
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var out = ""
        for scalar in last.unicodeScalars {
            let category = scalar.properties.generalCategory
            if category == .control || category == .format || category == .lineSeparator || category == .paragraphSeparator
                || "<>:\"|?*".unicodeScalars.contains(scalar)
            {
                out.unicodeScalars.append("_")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        // No leading dots (hidden files, `..`) and no trailing dots or spaces (Windows drops them).
        while out.hasPrefix(".") || out.hasPrefix(" ") { out.removeFirst() }
        while out.hasSuffix(".") || out.hasSuffix(" ") { out.removeLast() }
        return out
    }

    /// Splits a sanitised name into a non-empty stem (at most `maximumStemLength` characters, not a reserved
    /// Windows device name) and an extension: the name's own when it is short and alphanumeric, else the format's.
    static func split(_ name: String, format: String) -> (String, String) {
        var stem = name
        var ext = format == "jpeg" ? "jpg" : format
        if let dot = name.lastIndex(of: ".") {
            let own = String(name[name.index(after: dot)...])
            if (1...5).contains(own.count), own.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) }) {
                ext = own.lowercased()
                stem = String(name[..<dot])
            }
        }
        while stem.hasSuffix(".") || stem.hasSuffix(" ") { stem.removeLast() }
        if stem.count > maximumStemLength { stem = String(stem.prefix(maximumStemLength)) }
        if stem.isEmpty { stem = "image" }
        let device = stem.split(separator: ".").first.map { $0.uppercased() } ?? ""
        if reservedDeviceNames.contains(device) { stem = "_" + stem }
        return (stem, ext)
    }

    /// Names Windows reserves in any directory, with or without an extension.
    static let reservedDeviceNames: Set<String> = {
        var names: Set<String> = ["CON", "PRN", "AUX", "NUL"]
        for digit in 1...9 {
            names.insert("COM\(digit)")
            names.insert("LPT\(digit)")
        }
        return names
    }()
}
