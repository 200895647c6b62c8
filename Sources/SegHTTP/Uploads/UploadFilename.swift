import Foundation
import SegCore

/// Client filenames: reduced to a safe display name on upload, and written back as an RFC 6266 `Content-Disposition`.
///
/// A stored name is metadata only (RELIABILITY U5): files live under their content hash, and the name is never used as a
/// path.
enum UploadFilename {
    /// The most UTF-8 bytes a stored name may have.
    static let maxBytes = 255

    /// The client's filename reduced to its last path component (`/` and `\` both separate), without control,
    /// line-separator or bidirectional-override characters, trimmed, `.` and `..` dropped, at most 255 UTF-8 bytes
    /// (cut on a character boundary). May be empty.
    static func sanitized(_ raw: String) -> String {
        let last = raw.split(omittingEmptySubsequences: false) { $0 == "/" || $0 == "\\" }.last.map(String.init) ?? ""
        var scalars = String.UnicodeScalarView()
        for scalar in last.unicodeScalars where !isUnsafe(scalar) {
            scalars.append(scalar)
        }
        let trimmed = String(scalars).trimmingCharacters(in: .whitespaces)
        if trimmed == "." || trimmed == ".." { return "" }
        var result = ""
        var count = 0
        for character in trimmed {
            let size = character.utf8.count
            guard count + size <= maxBytes else { break }
            result.append(character)
            count += size
        }
        return result
    }

    /// The stored name of an image: the sanitised client name, or `image.png` / `image.jpg` / `image.tif` / `image.bmp`
    /// when that is empty.
    static func storedName(_ raw: String, format: ImageFormat) -> String {
        let name = sanitized(raw)
        guard name.isEmpty else { return name }
        switch format {
        case .png: return "image.png"
        case .jpeg: return "image.jpg"
        case .tiff: return "image.tif"
        case .bmp: return "image.bmp"
        }
    }

    /// `attachment; filename="…"` with an ASCII fallback, plus `filename*=UTF-8''…` (RFC 6266, RFC 8187) when the name
    /// needed replacing characters in the fallback.
    static func contentDisposition(for name: String) -> String {
        var fallback = ""
        var exact = true
        for scalar in name.unicodeScalars {
            if (0x20...0x7E).contains(scalar.value), scalar != "\"", scalar != "\\", scalar != "%" {
                fallback.unicodeScalars.append(scalar)
            } else {
                fallback.append("_")
                exact = false
            }
        }
        if fallback.isEmpty { fallback = "download" }
        var value = "attachment; filename=\"\(fallback)\""
        if !exact {
            value += "; filename*=UTF-8''\(percentEncoded(name))"
        }
        return value
    }

    /// RFC 8187 `value-chars`: `attr-char`s as they are, every other UTF-8 byte as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let attrChars = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~".utf8)
        var result = ""
        for byte in text.utf8 {
            if attrChars.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    private static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator:
            return true
        default:
            // Bidirectional embeddings, overrides and isolates can disguise an extension ("gnp.exe" shown as "exe.png").
            return (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
        }
    }
}

/// The parameters of a header such as `Content-Type` or `Content-Disposition`: `type; name=value; name="quoted"`.
struct HeaderParameters: Sendable, Equatable {
    /// The lowercased value before the first `;` (`multipart/form-data`, `form-data`).
    var value: String
    /// Parameters by lowercased name; quoted strings unquoted, `\"` unescaped.
    var parameters: [String: String]

    /// Parses `text`; malformed parameters are skipped.
    init(_ text: String) {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func skipSpaces() {
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
        }
        var head = String.UnicodeScalarView()
        while index < scalars.count, scalars[index] != ";" {
            head.append(scalars[index])
            index += 1
        }
        value = String(head).trimmingCharacters(in: .whitespaces).lowercased()
        parameters = [:]
        while index < scalars.count {
            index += 1  // the ';'
            skipSpaces()
            var name = String.UnicodeScalarView()
            while index < scalars.count, scalars[index] != "=", scalars[index] != ";" {
                name.append(scalars[index])
                index += 1
            }
            guard index < scalars.count, scalars[index] == "=" else { continue }
            index += 1
            skipSpaces()
            var parameter = String.UnicodeScalarView()
            if index < scalars.count, scalars[index] == "\"" {
                index += 1
                while index < scalars.count, scalars[index] != "\"" {
                    // Only `\"` is unescaped: old clients send Windows paths (`C:\dir\a.png`) with bare backslashes.
                    if scalars[index] == "\\", index + 1 < scalars.count, scalars[index + 1] == "\"" { index += 1 }
                    parameter.append(scalars[index])
                    index += 1
                }
                // Skip the closing quote and anything up to the next ';'.
                while index < scalars.count, scalars[index] != ";" { index += 1 }
            } else {
                while index < scalars.count, scalars[index] != ";" {
                    parameter.append(scalars[index])
                    index += 1
                }
            }
            let key = String(name).trimmingCharacters(in: .whitespaces).lowercased()
            if !key.isEmpty, parameters[key] == nil {
                parameters[key] = String(parameter).trimmingCharacters(in: .whitespaces)
            }
        }
    }

    /// The `filename*` parameter decoded (RFC 8187, UTF-8 only), else `filename`, else `nil`.
    var filename: String? {
        if let extended = parameters["filename*"] {
            let pieces = extended.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
            if pieces.count == 3, pieces[0].lowercased() == "utf-8", let decoded = String(pieces[2]).removingPercentEncoding {
                return decoded
            }
        }
        return parameters["filename"]
    }
}
