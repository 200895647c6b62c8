import Foundation
import Hummingbird
import HummingbirdTesting
import SegTestSupport
import Testing

@testable import SegHTTP

/// The OpenAPI document against the application: the same routes both ways, references that resolve, every problem
/// code the sources can answer listed, and the document served as it is bundled.
@Suite(.timeLimit(.minutes(5))) struct OpenAPITests {
    static let root = checkoutRoot

    static func document() throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent("Sources/SegHTTP/Resources/openapi.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// `METHOD /path/{param}` for every operation of the document.
    static func documentedOperations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        return Set(paths.flatMap { path, item in item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" } })
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        // setup: the whole application (API and worker routes) registering into a table
        let table = RouteTable()
        try await withTestDatabaseURL { _, url in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-openapi-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let configuration = try TestApp.configuration(databaseURL: url, dataDirectory: directory)
            _ = try await buildApplication(configuration: configuration, role: .all, passwordCost: 4, routeTable: table, logger: TestApp.logger)
        }

        // MUT: `:name` patterns written as OpenAPI's `{name}`
        let registered = Set(
            table.routes.map { route in
                let path = route.path.split(separator: "/", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
                return "\(route.method.rawValue) \(path)"
            })
        let documented = try Self.documentedOperations(try Self.document())

        // validate
        #expect(registered.subtracting(documented).sorted() == [], "routes without a document entry")
        #expect(documented.subtracting(registered).sorted() == [], "document entries without a route")
        #expect(registered.count > 20)
    }

    @Test func everyReferenceResolvesAndEveryOperationDescribesItsAnswers() throws {
        let document = try Self.document()
        #expect(document["openapi"] as? String == "3.1.0")
        // every $ref anywhere points at something that exists
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        #expect(!references.isEmpty)
        for reference in Set(references) {
            var node: Any? = document
            for key in reference.dropFirst(2).split(separator: "/") { node = (node as? [String: Any])?[String(key)] }
            #expect(node != nil, "unresolved \(reference)")
        }
        // authenticated operations declare 401; operations with a body declare 400 and 415; all declare a success
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        for (path, item) in paths {
            for (method, value) in item {
                let operation = try #require(value as? [String: Any])
                let responses = try #require(operation["responses"] as? [String: Any], "\(method) \(path)")
                // a success, or the WebSocket upgrade
                #expect(responses.keys.contains { $0.hasPrefix("2") || $0 == "101" }, "\(method) \(path) has no success answer")
                let open = (operation["security"] as? [Any])?.isEmpty == true
                if !open { #expect(responses["401"] != nil, "\(method) \(path) lacks 401") }
                if operation["requestBody"] != nil {
                    #expect(responses["400"] != nil && responses["415"] != nil, "\(method) \(path) lacks 400 or 415")
                }
            }
        }
    }

    /// Every `code: "…"` the HTTP layer can answer, and every SegCore error code reported for uploads, is in the
    /// document's `ProblemCode`; every code listed there is answered somewhere.
    @Test func problemCodesMatchTheSources() throws {
        let document = try Self.document()
        let components = try #require(document["components"] as? [String: Any])
        let schemas = try #require(components["schemas"] as? [String: Any])
        // HTTP problems and the event socket's error messages share one namespace of stable codes.
        let listed = Set(try #require((schemas["ProblemCode"] as? [String: Any])?["enum"] as? [String]))
            .union(try #require((schemas["EventSocketErrorCode"] as? [String: Any])?["enum"] as? [String]))

        func literals(in directory: String, pattern: String) throws -> Set<String> {
            let expression = try NSRegularExpression(pattern: pattern)
            let base = Self.root.appendingPathComponent(directory)
            var found = Set<String>()
            let files = try #require(FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil))
            for case let file as URL in files where file.pathExtension == "swift" {
                let text = try String(contentsOf: file, encoding: .utf8)
                for match in expression.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text) { found.insert(String(text[range])) }
                }
            }
            return found
        }
        let answered = try literals(in: "Sources/SegHTTP", pattern: #"code: (?:String = )?"([A-Z][A-Z_]+)""#)
            .union(literals(in: "Sources/SegHTTP/Events", pattern: #""([A-Z][A-Z_]{4,})""#))
            .union(literals(in: "Sources/SegCore", pattern: #"return "([A-Z][A-Z_]+)""#))
        #expect(answered.count > 20)
        #expect(answered.subtracting(listed).sorted() == [], "codes the document does not list")
        #expect(listed.subtracting(answered).sorted() == [], "codes the document lists that nothing answers")
    }

    @Test func theDocumentIsServedAsBundled() async throws {
        try await withTestApp { app in
            let answer = try await app.request(.get, "/api/v1/openapi.json")
            #expect(answer.status == .ok)
            #expect(answer.headers[.contentType]?.hasPrefix("application/json") == true)
            let served = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.readableBytesView)) as? NSDictionary)
            #expect(served == (try Self.document() as NSDictionary))
        }
    }
}
