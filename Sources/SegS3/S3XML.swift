import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The few things read from S3's XML answers: the root element, the text of named elements anywhere, and the children
/// of repeated elements (`Contents`, `Upload`) as name → text.
struct S3XML {
    /// The root element's name (`Error` for an error document).
    var root = ""
    /// Every element with text, by name, in document order.
    var values: [(name: String, text: String)] = []
    /// The direct children of every element, by the element's name.
    var groups: [(name: String, children: [String: String])] = []

    /// The first text of an element named `name`.
    func value(of name: String) -> String? {
        values.first { $0.name == name }?.text
    }

    /// The children of each element named `name`.
    func elements(named name: String) -> [[String: String]] {
        groups.filter { $0.name == name }.map(\.children)
    }

    /// Parses `bytes`.
    /// - Throws: `S3Error.invalidResponse` when they are not XML.
    static func parse(_ bytes: [UInt8]) throws(S3Error) -> S3XML {
        let collector = Collector()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = collector
        guard parser.parse() else { throw .invalidResponse("malformed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")") }
        return collector.document
    }

    /// `text` with the five XML specials escaped.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&apos;")
    }

    /// The parser's delegate: a stack of open elements, each collecting its children's texts.
    private final class Collector: NSObject, XMLParserDelegate {
        var document = S3XML()
        var stack: [(name: String, text: String, children: [String: String])] = []

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            if stack.isEmpty { document.root = name }
            stack.append((name, "", [:]))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard let element = stack.popLast() else { return }
            let text = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
            if element.children.isEmpty { document.values.append((name, text)) }
            document.groups.append((name, element.children))
            if !stack.isEmpty { stack[stack.count - 1].children[name] = text }
        }
    }
}
