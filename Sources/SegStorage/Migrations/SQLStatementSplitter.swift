/// Splits a migration file into statements, since postgres-nio sends each query as a single
/// extended-protocol statement.
///
/// Semicolons inside quoted strings, quoted identifiers, dollar-quoted bodies and comments do not split.
/// Pieces holding only whitespace and comments are dropped.
enum SQLStatementSplitter {
    static func split(_ sql: String) -> [String] {
        let scalars = Array(sql.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var hasCode = false
        var index = 0

        func copy(upTo end: Int) {
            current.append(contentsOf: scalars[index..<min(end, scalars.count)])
            index = min(end, scalars.count)
        }
        func find(_ needle: [Unicode.Scalar], from start: Int) -> Int {
            var position = start
            while position + needle.count <= scalars.count {
                if Array(scalars[position..<position + needle.count]) == needle { return position + needle.count }
                position += 1
            }
            return scalars.count
        }

        while index < scalars.count {
            let scalar = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            switch scalar {
            case "-" where next == "-":
                copy(upTo: find(["\n"], from: index))
            case "/" where next == "*":
                copy(upTo: find(["*", "/"], from: index + 2))
            case "'", "\"":
                hasCode = true
                copy(upTo: find([scalar], from: index + 1))
            case "$":
                hasCode = true
                // A dollar quote is `$tag$` with an optional identifier tag; `$1` is a parameter.
                var end = index + 1
                while end < scalars.count, scalars[end] == "_" || scalars[end].properties.isAlphabetic { end += 1 }
                if end < scalars.count, scalars[end] == "$" {
                    let tag = Array(scalars[index...end])
                    copy(upTo: find(tag, from: end + 1))
                } else {
                    copy(upTo: index + 1)
                }
            case ";":
                if hasCode {
                    statements.append(String(current).trimmingWhitespace())
                }
                current = String.UnicodeScalarView()
                hasCode = false
                index += 1
            default:
                if !scalar.properties.isWhitespace { hasCode = true }
                copy(upTo: index + 1)
            }
        }
        if hasCode {
            statements.append(String(current).trimmingWhitespace())
        }
        return statements
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
