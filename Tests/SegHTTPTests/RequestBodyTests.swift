import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SegTestSupport
import Testing

@testable import SegHTTP

/// JSON request bodies: each route's size limit (413, never 500) and control characters in strings (400 naming the
/// field, before anything reaches the database).
@Suite(.timeLimit(.minutes(5))) struct RequestBodyTests {
    /// "PATH U+XXXX" of the first control character, or nil.
    static func scan(_ text: String) -> String? {
        Array(text.utf8).withUnsafeBytes { JSONBody.controlCharacter(in: $0) }.map { "\($0.path) \($0.scalar)" }
    }

    @Test func theScannerNamesThePathOfTheFirstControlCharacter() {
        #expect(Self.scan(#"{"name": "a\u0000b"}"#) == "name 0")
        #expect(Self.scan(#"{"polygons": [{"class": "ok"}, {"holes": [], "class": "x\u001Fy"}]}"#) == "polygons[1].class 31")
        #expect(Self.scan(#"{"a": {"b": ["x", "\b"]}}"#) == "a.b[1] 8")
        #expect(Self.scan(#"{"a": "\f"}"#) == "a 12")
        #expect(Self.scan(#""\u0001""#) == "body 1")
        #expect(Self.scan(#"{"k\u0000": 1}"#) == #"k\u0000 0"#)
    }

    @Test func whatIsNotAControlCharacterPasses() {
        // Tab, line feed and carriage return are text; an escaped backslash before "u0000" is a backslash; surrogates
        // and quotes inside strings do not confuse the scanner.
        #expect(Self.scan(#"{"description": "line\nline\ttab\r"}"#) == nil)
        #expect(Self.scan(#"{"name": "C:\\u0000 is a path", "q": "say \"hi\"", "e": "\ud83d\ude00"}"#) == nil)
        #expect(Self.scan(#"{"numbers": [1, 2.5, -3e4], "flag": true, "none": null}"#) == nil)
        #expect(Self.scan("") == nil)
    }

    @Test func controlCharactersAreRefusedOnEveryRouteThatTakesText() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 5))
            let square = "[[10,10],[40,10],[40,40],[10,40]]"
            let cases: [(HTTPRequest.Method, String, String, String)] = [
                (.post, "/api/v1/auth/register", #"{"email": "nul@example.org", "password": "long enough pass", "name": "a\u0000b"}"#, "name"),
                (.post, "/api/v1/auth/login", #"{"email": "x\u0000@example.org", "password": "long enough pass"}"#, "email"),
                (.post, "/api/v1/auth/password", #"{"currentPassword": "correct horse battery", "newPassword": "new\u0000password"}"#, "newPassword"),
                (.post, "/api/v1/projects", #"{"name": "P\u0000"}"#, "name"),
                (.patch, "/api/v1/projects/\(project)", #"{"description": "d\u0007"}"#, "description"),
                (
                    .put, "/api/v1/images/\(image)/segmentation", #"{"polygons": [{"class": "cell\u0000", "exterior": \#(square)}]}"#,
                    "polygons[0].class"
                ),
                (.post, "/api/v1/projects/\(project)/members", #"{"email": "m\u0000@example.org", "role": "viewer"}"#, "email"),
                (.post, "/api/v1/projects/\(project)/share-links", #"{"role": "viewer\u0000"}"#, "role"),
                (.post, "/api/v1/projects/\(project)/exports", #"{"formats": ["coco", "csv\u0000"]}"#, "formats[1]"),
                (.post, "/api/v1/projects/\(project)/segmentations", #"{"segmenter": "builtin\u0000"}"#, "segmenter"),
            ]

            for (method, path, body, field) in cases {
                // MUT
                let response = try await app.request(method, path, as: owner, jsonText: body)

                // validate
                #expect(response.status == .badRequest, "\(method) \(path): \(response.status)")
                #expect(response.problemCode == "VALIDATION_FAILED", "\(method) \(path)")
                #expect(try response.fieldErrors().map(\.field) == [field], "\(method) \(path)")
            }
            // Nothing was stored: still one project, no version, the name unchanged.
            let projects = try await app.request(.get, "/api/v1/projects", as: owner)
            #expect(String(buffer: projects.body).contains("\\u0000") == false)
            let none = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner)
            #expect(none.problemCode == "NO_SEGMENTATION")
        }
    }

    @Test func bodiesOverTheirRoutesLimitAre413() async throws {
        try await withTestApp(environment: ["SEG_MAX_POLYGON_BODY_BYTES": "4096"]) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 6))
            let padding = String(repeating: " ", count: 20 << 10)
            let polygon = #"{"class": "cell", "exterior": [[10,10],[40,10],[40,40],[10,40]]}"#
            let many = "{\"polygons\": [" + Array(repeating: polygon, count: 80).joined(separator: ",") + "]}"

            // MUT and validate: the account routes take 16 KiB, other JSON routes 1 MiB, the polygon PUT its own
            let login = try await app.request(
                .post, "/api/v1/auth/login", as: owner, jsonText: #"{"email": "a@example.org", "password": "x"\#(padding)}"#)
            #expect(login.status == .contentTooLarge)
            #expect(login.problemCode == "PAYLOAD_TOO_LARGE")
            let project2 = try await app.request(
                .post, "/api/v1/projects", as: owner, jsonText: #"{"name": "big"\#(String(repeating: " ", count: 1 << 20))}"#)
            #expect(project2.status == .contentTooLarge)
            #expect(project2.problemCode == "PAYLOAD_TOO_LARGE")
            let put = try await app.request(.put, "/api/v1/images/\(image)/segmentation", as: owner, jsonText: many)
            #expect(put.status == .contentTooLarge)
            #expect(put.problemCode == "PAYLOAD_TOO_LARGE")

            // Under the limits the same routes work.
            let small = try await app.request(.post, "/api/v1/projects", as: owner, jsonText: #"{"name": "small"\#(padding)}"#)
            #expect(small.status == .created)
            let one = try await app.request(.put, "/api/v1/images/\(image)/segmentation", as: owner, jsonText: "{\"polygons\": [\(polygon)]}")
            #expect(one.status == .ok || one.status == .created, "\(one.status)")
        }
    }
}

extension RequestBodyTests {
    @Test func polygonPutsOverTheirLimitsAre422NamingTheLimitAndStoreNothing() async throws {
        let limits = ["SEG_MAX_POLYGONS": "2", "SEG_MAX_HOLES": "1", "SEG_MAX_RING_VERTICES": "6", "SEG_MAX_VERTICES": "13"]
        try await withTestApp(environment: limits) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 7))
            let square = "[[10,10],[60,10],[60,60],[10,60]]"
            let hole = "[[20,20],[30,20],[30,30]]"
            func body(_ polygons: [String]) -> String { "{\"polygons\": [" + polygons.joined(separator: ",") + "]}" }
            let cases: [(String, String)] = [
                (body(Array(repeating: #"{"exterior": \#(square)}"#, count: 3)), "polygons"),
                (body([#"{"exterior": \#(square), "holes": [\#(hole), \#(hole)]}"#]), "polygons[0].holes"),
                (body([#"{"exterior": [[10,10],[20,10],[30,10],[40,10],[50,10],[60,10],[60,60]]}"#]), "polygons[0].exterior"),
                (body([#"{"exterior": \#(square), "holes": [\#(hole)]}"#, #"{"exterior": \#(square), "holes": [\#(hole)]}"#]), "polygons"),
            ]
            for (text, field) in cases {
                // MUT
                let response = try await app.request(.put, "/api/v1/images/\(image)/segmentation", as: owner, jsonText: text)

                // validate
                #expect(response.status == .unprocessableContent, "\(field): \(response.status)")
                #expect(response.problemCode == "POLYGON_LIMIT_EXCEEDED", "\(field)")
                #expect(try response.fieldErrors().map(\.field) == [field])
            }
            let none = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner)
            #expect(none.problemCode == "NO_SEGMENTATION")
            // Within every limit (two polygons, one hole, 11 vertices) the edit is stored.
            let fits = body([#"{"exterior": \#(square), "holes": [\#(hole)]}"#, #"{"exterior": \#(square)}"#])
            let stored = try await app.request(.put, "/api/v1/images/\(image)/segmentation", as: owner, jsonText: fits)
            #expect(stored.status == .ok || stored.status == .created, "\(stored.status)")
        }
    }
}

extension TestResponse {
    /// The `errors` of a problem+json body.
    func fieldErrors() throws -> [Problem.FieldError] {
        struct Body: Decodable { var errors: [Problem.FieldError]? }
        return try decode(Body.self).errors ?? []
    }
}
