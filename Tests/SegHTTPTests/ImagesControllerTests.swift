import Crypto
import Foundation
import Glibc
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SegCore
import Testing

@testable import SegHTTP
@testable import SegStorage

@Suite(.timeLimit(.minutes(5))) struct ImagesControllerTests {
    // MARK: - Upload

    @Test func uploadStoresGoodFilesAndReportsBadOnes() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let png = try TestImages.png(width: 300, height: 200)
            let jpeg = try TestImages.jpeg(width: 120, height: 500)
            let html = Array("<html><script>alert(1)</script></html>".utf8)
            let truncated = Array(png.prefix(png.count / 2))

            // MUT
            let response = try await app.upload(
                to: project, as: owner,
                parts: [
                    .file("cells.png", png), .file("spheroid.jpg", jpeg, contentType: "image/jpeg"),
                    .file("evil.png", html, contentType: "image/png"), .file("cut.png", truncated),
                ])

            // validate
            #expect(response.status == .created)
            let body = try response.decode(UploadAnswer.self)
            try #require(body.items.count == 2, "\(String(buffer: response.body))")
            let (first, second) = (body.items[0], body.items[1])
            #expect(first.name == "cells.png")
            #expect(first.format == "png")
            #expect(first.width == 300 && first.height == 200)
            #expect(first.bytes == Int64(png.count))
            #expect(first.status == "new")
            #expect(first.projectId == project)
            #expect(second.name == "spheroid.jpg")
            #expect(second.format == "jpeg")
            #expect(second.width == 120 && second.height == 500)
            #expect(body.errors.map(\.name) == ["evil.png", "cut.png"])
            #expect(body.errors.map(\.code) == ["UNSUPPORTED_IMAGE_FORMAT", "IMAGE_TRUNCATED"])
            #expect(body.errors.allSatisfy { !$0.detail.isEmpty })

            // Thumbnails: JPEG, longest side 256, made from the pixels.
            for (image, expected) in [(first, (256, 171)), (second, (61, 256))] {
                let thumbnail = try await app.request(.get, "/api/v1/images/\(image.id)/thumbnail", as: owner)
                #expect(thumbnail.status == .ok)
                #expect(thumbnail.headers[.contentType] == "image/jpeg")
                #expect(thumbnail.headers[.cacheControl] == "private, max-age=3600")
                let info = try ImageDecoder.info(Array(thumbnail.body.readableBytesView))
                #expect(info.format == .jpeg)
                #expect(info.width == expected.0 && info.height == expected.1)
            }

            // The original: the same bytes, the sniffed type, as an attachment.
            let original = try await app.request(.get, "/api/v1/images/\(first.id)/original", as: owner)
            #expect(original.status == .ok)
            #expect(Array(original.body.readableBytesView) == png)
            #expect(original.headers[.contentType] == "image/png")
            #expect(original.headers[.contentDisposition] == #"attachment; filename="cells.png""#)
            #expect(original.headers[.xContentTypeOptions] == "nosniff")
            let jpegOriginal = try await app.request(.get, "/api/v1/images/\(second.id)/original", as: owner)
            #expect(Array(jpegOriginal.body.readableBytesView) == jpeg)
            #expect(jpegOriginal.headers[.contentType] == "image/jpeg")

            let single = try await app.request(.get, "/api/v1/images/\(first.id)", as: owner)
            #expect(single.status == .ok)
            #expect(try single.decode(ImageAnswer.self) == first)

            // Nothing is left in tmp/, and the upload is audited once.
            #expect(try app.temporaryFiles().isEmpty)
            let audited = try await app.auditCount("image.upload")
            #expect(audited == 1)
        }
    }

    @Test func listPaginatesAndFiltersByStatus() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let parts = try (1...3).map { index in FormPart.file("\(index).png", try TestImages.png(width: 10 + index, height: 10)) }
            let uploaded = try await app.upload(to: project, as: owner, parts: parts).decode(UploadAnswer.self).items
            try #require(uploaded.count == 3)
            _ = try await ImageRepository.setStatus(.segmented, id: uploaded[1].id, on: Database(client: app.database, logger: TestApp.logger))

            // MUT
            let firstPage = try await app.request(.get, "/api/v1/projects/\(project)/images?limit=2", as: owner)
            let page1 = try firstPage.decode(ImagePage.self)
            let cursor = try #require(page1.nextCursor)
            let page2 = try await app.request(.get, "/api/v1/projects/\(project)/images?limit=2&cursor=\(cursor)", as: owner)
                .decode(ImagePage.self)
            let segmented = try await app.request(.get, "/api/v1/projects/\(project)/images?status=segmented", as: owner)
                .decode(ImagePage.self)
            let unknown = try await app.request(.get, "/api/v1/projects/\(project)/images?status=done", as: owner)

            // validate
            #expect(firstPage.status == .ok)
            #expect(page1.items.count == 2)
            #expect(page2.items.count == 1)
            #expect(page2.nextCursor == nil)
            #expect(Set((page1.items + page2.items).map(\.id)) == Set(uploaded.map(\.id)))
            #expect(segmented.items.map(\.id) == [uploaded[1].id])
            #expect(segmented.items.first?.status == "segmented")
            #expect(unknown.status == .badRequest)
            #expect(unknown.problemCode == "VALIDATION_FAILED")
        }
    }

    // MARK: - Limits

    @Test func limitsAreEnforced() async throws {
        let environment = ["SEG_MAX_REQUEST_BYTES": "16384", "SEG_MAX_UPLOAD_BYTES": "2048", "SEG_MAX_FILES_PER_REQUEST": "2"]
        try await withTestApp(environment: environment) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let small = try TestImages.png(width: 8, height: 8)
            let big = try TestImages.noisePNG(width: 40, height: 40)
            try #require(big.count > 2048 && big.count < 12_000, "noise PNG is \(big.count) bytes")

            // MUT + validate: a file over the limit is reported, the other one stored.
            let mixed = try await app.upload(to: project, as: owner, parts: [.file("big.png", big), .file("small.png", small)])
            #expect(mixed.status == .created)
            let answer = try mixed.decode(UploadAnswer.self)
            #expect(answer.items.map(\.name) == ["small.png"])
            #expect(answer.errors.map(\.code) == ["FILE_TOO_LARGE"])
            #expect(answer.errors.map(\.name) == ["big.png"])

            // A request announced over the limit by Content-Length is refused before it is read: tested on a real socket
            // in MiddlewareTests.declaredOversizeBodyIs413BeforeReading (the router test client can stall on it).

            // Too many files: refused as a whole, nothing stored.
            let many = try await app.upload(
                to: project, as: owner, parts: [.file("1.png", small), .file("2.png", small), .file("3.png", small)])
            #expect(many.status == .badRequest)
            #expect(many.problemCode == "TOO_MANY_FILES")

            // Not multipart.
            let json = try await app.request(.post, "/api/v1/projects/\(project)/images", as: owner, json: ["files": "x"])
            #expect(json.status == .unsupportedMediaType)
            #expect(json.problemCode == "UNSUPPORTED_MEDIA_TYPE")

            // Multipart without files, and multipart cut short.
            let noFiles = try await app.upload(to: project, as: owner, parts: [FormPart(name: "comment", bytes: Array("hi".utf8))])
            #expect(noFiles.status == .badRequest)
            #expect(noFiles.problemCode == "VALIDATION_FAILED")
            var cut = FormPart.body([.file("s.png", small)])
            cut.moveWriterIndex(to: cut.writerIndex - 40)
            let incomplete = try await app.request(
                .post, "/api/v1/projects/\(project)/images", as: owner, headers: FormPart.headers, body: cut)
            #expect(incomplete.status == .badRequest)

            let list = try await app.request(.get, "/api/v1/projects/\(project)/images", as: owner).decode(ImagePage.self)
            #expect(list.items.count == 1)
            #expect(try app.temporaryFiles().isEmpty)
        }
    }

    /// RELIABILITY U1: a body without (or with a lying) Content-Length is cut off at the limit while it streams.
    @Test func streamedBodyOverTheLimitIs413() async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-upload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = MultipartUploadReceiver(
            temporaryDirectory: directory, limits: UploadLimits(maxRequestBytes: 4096, maxFileBytes: 4096, maxFiles: 10))
        let head = "--\(FormPart.boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n"
        let chunks = [ByteBuffer(string: head)] + Array(repeating: ByteBuffer(repeating: 0x41, count: 1000), count: 10)

        // MUT
        var caught: (any Error)?
        do {
            _ = try await receiver.receive(chunks.async, boundary: FormPart.boundary, logger: TestApp.logger)
        } catch {
            caught = error
        }

        // validate
        let problem = try #require(caught as? Problem)
        #expect(problem.status == .contentTooLarge)
        #expect(problem.code == "PAYLOAD_TOO_LARGE")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// RELIABILITY U1 on a real socket: chunked encoding, no Content-Length; answered 413, not reset.
    @Test func theOwnersQuotaRefusesWhatDoesNotFitAndCountsEditorsUploads() async throws {
        // setup: noise PNGs of known sizes, a quota of one and a half large files
        let large = try TestImages.noisePNG(width: 120, height: 120)
        let other = try TestImages.noisePNG(width: 120, height: 120)
        let small = try TestImages.png(width: 20, height: 20)
        let quota = large.count * 3 / 2
        try await withTestApp(environment: ["SEG_USER_QUOTA_BYTES": "\(quota)"]) { app in
            let owner = try await app.register()
            let editor = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(editor, to: project, role: .editor)

            // MUT: the editor's upload fits; the owner's second large file does not
            let first = try await app.upload(to: project, as: editor, parts: [.file("a.png", large)])
            #expect(first.status == .created)
            let second = try await app.upload(to: project, as: owner, parts: [.file("b.png", other)])

            // validate: refused whole (413, no row); a request where one file fits stores that one and names the other
            #expect(second.status == .contentTooLarge)
            #expect(second.problemCode == "QUOTA_EXCEEDED")
            let mixed = try await app.upload(to: project, as: owner, parts: [.file("b.png", other), .file("c.png", small)])
            #expect(mixed.status == .created)
            let answer = try mixed.decode(UploadAnswer.self)
            #expect(answer.items.map(\.name) == ["c.png"])
            #expect(answer.errors.map(\.code) == ["QUOTA_EXCEEDED"])
            let page = try await app.request(.get, "/api/v1/projects/\(project)/images", as: owner).decode(ImagePage.self)
            #expect(page.items.count == 2)
        }
    }

    @Test func chunkedUploadOverTheLimitIs413OnTheWire() async throws {
        try await withLiveTestApp(environment: ["SEG_MAX_REQUEST_BYTES": "8192", "SEG_MAX_UPLOAD_BYTES": "4096"]) { app, port in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let head = "--\(FormPart.boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n"
            let chunks = [Array(head.utf8)] + Array(repeating: [UInt8](repeating: 0x41, count: 1000), count: 12)

            // MUT
            let answer = try await RawHTTP.chunkedPost(
                port: port, path: "/api/v1/projects/\(project)/images",
                headers: ["Authorization": "Bearer \(owner.accessToken)", "Content-Type": "multipart/form-data; boundary=\(FormPart.boundary)"],
                chunks: chunks)

            // validate
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
            #expect(answer.contains("PAYLOAD_TOO_LARGE"))
            #expect(try app.temporaryFiles().isEmpty)
        }
    }

    /// A body of exactly the limit is read; one byte more is 413.
    @Test func theRequestLimitIsInclusive() async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-upload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let body = FormPart.body([.file("a.bin", Array(repeating: 7, count: 2000))])
        func receive(limit: Int) async throws -> [ReceivedUpload] {
            let receiver = MultipartUploadReceiver(
                temporaryDirectory: directory, limits: UploadLimits(maxRequestBytes: limit, maxFileBytes: limit, maxFiles: 1))
            return try await receiver.receive([body].async, boundary: FormPart.boundary, logger: TestApp.logger)
        }

        // MUT + validate
        let received = try await receive(limit: body.readableBytes)
        #expect(received.map(\.bytes) == [2000])
        MultipartUploadReceiver.removeFiles(of: received)
        await #expect(throws: Problem.self) { try await receive(limit: body.readableBytes - 1) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// However the body is cut into chunks, the same parts come out byte for byte, including data that looks like
    /// the start of a boundary.
    @Test(arguments: [1, 2, 7, 64, 4096])
    func partsSurviveAnyChunking(chunkSize: Int) async throws {
        // setup
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-upload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = MultipartUploadReceiver(
            temporaryDirectory: directory, limits: UploadLimits(maxRequestBytes: 1 << 20, maxFileBytes: 1 << 20, maxFiles: 10))
        let tricky = Array("\r\n--\(FormPart.boundary.dropLast())x\r\r\n-\r\n--".utf8)
        let first = tricky + Array(repeating: 0x0D, count: 300) + tricky
        let second = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) } + Array("\r\n-".utf8)
        var body = FormPart.body([
            .file("one.bin", first), FormPart(name: "note", bytes: Array("ignored".utf8)), .file("two.bin", second), .file("empty", []),
        ])
        var chunks: [ByteBuffer] = []
        while body.readableBytes > 0, let chunk = body.readSlice(length: min(chunkSize, body.readableBytes)) {
            chunks.append(chunk)
        }

        // MUT
        let received = try await receiver.receive(chunks.async, boundary: FormPart.boundary, logger: TestApp.logger)
        defer { MultipartUploadReceiver.removeFiles(of: received) }

        // validate
        #expect(received.map(\.clientFilename) == ["one.bin", "two.bin", "empty"])
        let contents = try received.map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: try #require($0.path)))) }
        #expect(contents == [first, second, []])
        #expect(received.map(\.bytes) == [first.count, second.count, 0])
    }

    // MARK: - Permissions

    @Test func refusals() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let viewer = try await app.register()
            let stranger = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(viewer, to: project, role: .viewer)
            let png = try TestImages.png(width: 16, height: 16)
            let image = try #require(
                try await app.upload(to: project, as: owner, parts: [.file("a.png", png)]).decode(UploadAnswer.self).items.first)
            let paths = [
                "/api/v1/images/\(image.id)", "/api/v1/images/\(image.id)/original", "/api/v1/images/\(image.id)/thumbnail",
                "/api/v1/projects/\(project)/images",
            ]

            // MUT + validate: no token.
            for path in paths {
                #expect(try await app.request(.get, path).status == .unauthorized, "\(path)")
            }
            let anonymous = try await app.request(
                .post, "/api/v1/projects/\(project)/images", headers: FormPart.headers, body: FormPart.body([.file("a.png", png)]))
            #expect(anonymous.status == .unauthorized)

            // Not a member: 404 everywhere, as for unknown ids.
            for path in paths {
                let response = try await app.request(.get, path, as: stranger)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.problemCode == "NOT_FOUND")
            }
            #expect(try await app.upload(to: project, as: stranger, parts: [.file("a.png", png)]).status == .notFound)
            #expect(try await app.request(.delete, "/api/v1/images/\(image.id)", as: stranger).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/images/\(UUID())", as: owner).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/images/not-a-uuid", as: owner).status == .notFound)
            #expect(try await app.upload(to: UUID(), as: owner, parts: [.file("a.png", png)]).status == .notFound)

            // A viewer reads but neither uploads nor deletes.
            for path in paths {
                #expect(try await app.request(.get, path, as: viewer).status == .ok, "\(path)")
            }
            let upload = try await app.upload(to: project, as: viewer, parts: [.file("a.png", png)])
            #expect(upload.status == .forbidden)
            #expect(upload.problemCode == "FORBIDDEN")
            let delete = try await app.request(.delete, "/api/v1/images/\(image.id)", as: viewer)
            #expect(delete.status == .forbidden)
            #expect(try await app.request(.get, "/api/v1/images/\(image.id)", as: owner).status == .ok)
        }
    }

    // MARK: - Names

    /// RELIABILITY U5: the client's name is metadata only, reduced to a plain display name.
    @Test func filenamesAreReducedToPlainNames() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let png = try TestImages.png(width: 4, height: 4)
            let long = String(repeating: "é", count: 150) + ".png"  // 304 bytes

            // MUT
            let response = try await app.upload(
                to: project, as: owner,
                parts: [
                    .file("../../etc/passwd.png", png), .file(#"..\..\windows\win.png"#, png), .file("a\"b\u{01}\u{7F}X-Evil: 1.png", png),
                    .file("", png), .file(long, png), FormPart(name: "files", filenameStar: "UTF-8''Zellkern-%C3%BC.png", bytes: png),
                ])

            // validate
            let items = try response.decode(UploadAnswer.self).items
            try #require(items.count == 6, "\(String(buffer: response.body))")
            #expect(items[0].name == "passwd.png")
            #expect(items[1].name == "win.png")
            #expect(items[2].name == "a\"bX-Evil: 1.png")
            #expect(items[3].name == "image.png")
            #expect(items[4].name.utf8.count <= 255)
            #expect(items[4].name.hasPrefix("éé") && items[4].name.utf8.count == 254)
            #expect(items[5].name == "Zellkern-ü.png")

            let quoted = try await app.request(.get, "/api/v1/images/\(items[2].id)/original", as: owner)
            #expect(quoted.headers[.contentDisposition] == #"attachment; filename="a_bX-Evil: 1.png"; filename*=UTF-8''a%22bX-Evil%3A%201.png"#)
            let umlaut = try await app.request(.get, "/api/v1/images/\(items[5].id)/original", as: owner)
            #expect(umlaut.headers[.contentDisposition] == #"attachment; filename="Zellkern-_.png"; filename*=UTF-8''Zellkern-%C3%BC.png"#)

            // Only the file store's own folders exist under the data directory.
            let entries = try FileManager.default.contentsOfDirectory(atPath: app.configuration.dataDirectory.path).sorted()
            #expect(entries == ["objects", "tmp"])
            #expect(!FileManager.default.fileExists(atPath: app.configuration.dataDirectory.appendingPathComponent("etc").path))
        }
    }

    // MARK: - Delete

    @Test func deleteRemovesTheRowThenFilesNoLongerReferenced() async throws {
        try await withTestApp { app in
            // setup: the same content twice, so both rows share the original and the thumbnail.
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let png = try TestImages.png(width: 64, height: 48)
            let items = try await app.upload(to: project, as: owner, parts: [.file("a.png", png), .file("b.png", png)])
                .decode(UploadAnswer.self).items
            try #require(items.count == 2)
            let thumbnail = try await app.request(.get, "/api/v1/images/\(items[0].id)/thumbnail", as: owner)
            let files = [try app.objectURL(of: png), try app.objectURL(of: Array(thumbnail.body.readableBytesView))]
            // Objects written in the last minutes are spared (an upload of the same content may be about to refer to
            // them): age them.
            for file in files {
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: file.path)
            }

            // MUT: delete one; the other still refers to the files.
            let first = try await app.request(.delete, "/api/v1/images/\(items[0].id)", as: owner)

            // validate
            #expect(first.status == .noContent)
            #expect(try await app.request(.get, "/api/v1/images/\(items[0].id)", as: owner).status == .notFound)
            #expect(files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
            let remaining = try await app.request(.get, "/api/v1/images/\(items[1].id)/original", as: owner)
            #expect(Array(remaining.body.readableBytesView) == png)

            // MUT: delete the last reference.
            let second = try await app.request(.delete, "/api/v1/images/\(items[1].id)", as: owner)

            // validate
            #expect(second.status == .noContent)
            #expect(files.allSatisfy { !FileManager.default.fileExists(atPath: $0.path) })
            #expect(try await app.request(.delete, "/api/v1/images/\(items[1].id)", as: owner).status == .notFound)
            let audited = try await app.auditCount("image.delete")
            #expect(audited == 2)
        }
    }
}

/// RELIABILITY U5's names, straight through the sanitiser and the header writer.
@Suite(.timeLimit(.minutes(5))) struct UploadFilenameTests {
    @Test(arguments: [
        ("../../etc/passwd", "passwd"), ("..%2F..%2F", "..%2F..%2F"), ("x%00.jpg", "x%00.jpg"), ("x\u{0}.jpg", "x.jpg"),
        ("a.php.jpg", "a.php.jpg"), ("CON", "CON"), ("dir/..", ""), ("  spaced.png  ", "spaced.png"), ("C:\\Users\\a.png", "a.png"),
        ("a\r\nSet-Cookie: x.png", "aSet-Cookie: x.png"), ("gnp\u{202E}.exe", "gnp.exe"),
    ])
    func sanitized(raw: String, expected: String) {
        #expect(UploadFilename.sanitized(raw) == expected)
    }

    @Test func longNamesAreCutOnACharacterBoundary() {
        let name = UploadFilename.sanitized(String(repeating: "a", count: 254) + "é.png")
        #expect(name == String(repeating: "a", count: 254))
        #expect(UploadFilename.sanitized(String(repeating: "x", count: 300)).utf8.count == 255)
    }

    @Test func contentDispositionNeverCarriesRawQuotesOrLineBreaks() {
        #expect(UploadFilename.contentDisposition(for: "a.png") == #"attachment; filename="a.png""#)
        let header = UploadFilename.contentDisposition(for: "x%00\"\\ü.png")
        #expect(header == #"attachment; filename="x_00___.png"; filename*=UTF-8''x%2500%22%5C%C3%BC.png"#)
        #expect(UploadFilename.storedName("", format: .jpeg) == "image.jpg")
    }

    @Test func headerParameters() {
        let type = HeaderParameters(#"Multipart/Form-Data; charset=utf-8; boundary="a b:c""#)
        #expect(type.value == "multipart/form-data")
        #expect(type.parameters["boundary"] == "a b:c")
        let disposition = HeaderParameters(#"form-data; name="files"; filename="q\"uote.png"; filename*=UTF-8''%C3%BC.png"#)
        #expect(disposition.parameters["name"] == "files")
        #expect(disposition.filename == "ü.png")
        #expect(HeaderParameters(#"form-data; name="files"; filename="plain.png""#).filename == "plain.png")
    }
}

// MARK: - Helpers

struct ImageAnswer: Decodable, Equatable {
    var id: UUID
    var projectId: UUID
    var name: String
    var width: Int
    var height: Int
    var format: String
    var bytes: Int64
    var status: String
    var createdAt: Date
}

struct UploadAnswer: Decodable {
    struct Failure: Decodable {
        var name: String
        var code: String
        var detail: String
    }
    var items: [ImageAnswer]
    var errors: [Failure]
}

struct ImagePage: Decodable {
    var items: [ImageAnswer]
    var nextCursor: String?
}

/// Test images made with SegCore's encoders.
enum TestImages {
    /// An RGB gradient PNG.
    static func png(width: Int, height: Int) throws -> [UInt8] {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                pixels += [UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), 128]
            }
        }
        return try PNGEncoder.encode(pixels: pixels, width: width, height: height, channels: 3)
    }

    /// A gray JPEG with a bright disc.
    static func jpeg(width: Int, height: Int) throws -> [UInt8] {
        var image = GrayImage(width: width, height: height, filledWith: 40)
        for y in 0..<height {
            for x in 0..<width where (x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < width * width / 9 {
                image.pixels[y * width + x] = 220
            }
        }
        return try JPEGEncoder.encode(image)
    }

    /// An RGB PNG of noise (incompressible: about 3 bytes per pixel).
    static func noisePNG(width: Int, height: Int) throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let pixels = (0..<(width * height * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try PNGEncoder.encode(pixels: pixels, width: width, height: height, channels: 3)
    }
}

/// One part of a `multipart/form-data` body.
struct FormPart: Sendable {
    static let boundary = "seg-test-boundary-7MA4YWxkTrZu0gW"
    var name: String
    var filename: String?
    var filenameStar: String?
    var contentType: String?
    var bytes: [UInt8]

    init(name: String, filename: String? = nil, filenameStar: String? = nil, contentType: String? = nil, bytes: [UInt8]) {
        self.name = name
        self.filename = filename
        self.filenameStar = filenameStar
        self.contentType = contentType
        self.bytes = bytes
    }

    /// A part named `files`.
    static func file(_ filename: String, _ bytes: [UInt8], contentType: String = "application/octet-stream") -> FormPart {
        FormPart(name: "files", filename: filename, contentType: contentType, bytes: bytes)
    }

    /// The `Content-Type` header of bodies made by `body(_:)`.
    static var headers: HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = "multipart/form-data; boundary=\(boundary)"
        return fields
    }

    /// The body, with `"` in file names escaped as `\"`.
    static func body(_ parts: [FormPart]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for part in parts {
            var disposition = "form-data; name=\"\(part.name)\""
            if let filename = part.filename {
                disposition += "; filename=\"\(filename.replacingOccurrences(of: "\"", with: "\\\""))\""
            }
            if let star = part.filenameStar {
                disposition += "; filename*=\(star)"
            }
            buffer.writeString("--\(boundary)\r\nContent-Disposition: \(disposition)\r\n")
            if let contentType = part.contentType {
                buffer.writeString("Content-Type: \(contentType)\r\n")
            }
            buffer.writeString("\r\n")
            buffer.writeBytes(part.bytes)
            buffer.writeString("\r\n")
        }
        buffer.writeString("--\(boundary)--\r\n")
        return buffer
    }
}

extension TestApp {
    /// Uploads `parts` to the project as `user`.
    func upload(to project: UUID, as user: TestUser, parts: [FormPart]) async throws -> TestResponse {
        try await request(
            .post, "/api/v1/projects/\(project)/images", as: user, headers: FormPart.headers, body: FormPart.body(parts))
    }

    /// The names of the files in the data directory's `tmp/`.
    func temporaryFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: configuration.dataDirectory.appendingPathComponent("tmp").path)
    }

    /// Where the file store keeps `bytes`.
    func objectURL(of bytes: [UInt8]) throws -> URL {
        let hex = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return configuration.dataDirectory.appendingPathComponent(try ObjectKey(hex).relativePath)
    }

    /// How many audit entries have `action`.
    func auditCount(_ action: String) async throws -> Int {
        let rows = try await database.query("SELECT count(*)::int FROM audit_log WHERE action = \(action)", logger: TestApp.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }
}

extension Array where Element == ByteBuffer {
    /// The buffers as an async sequence, one element per buffer (a body that streams in chunks, no length announced).
    var async: AsyncStream<ByteBuffer> {
        let buffers = self
        return AsyncStream { continuation in
            for buffer in buffers { continuation.yield(buffer) }
            continuation.finish()
        }
    }
}

/// A plain-socket HTTP/1.1 client for what the test clients cannot send.
enum RawHTTP {
    /// POSTs `chunks` with `Transfer-Encoding: chunked` (no `Content-Length`) and `Connection: close`, and returns
    /// everything the server answered, as text.
    static func chunkedPost(port: Int, path: String, headers: [String: String], chunks: [[UInt8]]) async throws -> String {
        var body: [UInt8] = []
        for chunk in chunks {
            body += Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n".utf8)
        }
        body += Array("0\r\n\r\n".utf8)
        return try await exchange(port: port, path: path, framing: "Transfer-Encoding: chunked", headers: headers, body: body)
    }

    /// POSTs `body` with its `Content-Length` and `Connection: close`, and returns everything the server answered.
    static func post(port: Int, path: String, headers: [String: String], body: [UInt8]) async throws -> String {
        try await exchange(port: port, path: path, framing: "Content-Length: \(body.count)", headers: headers, body: body)
    }

    /// Sends the request head and the already framed body, then reads until the server closes.
    private static func exchange(
        port: Int, path: String, framing: String, headers: [String: String], body: [UInt8]
    ) async throws -> String {
        try await RawHTTP.onOwnThread {
            let descriptor = try connect(port: port)
            defer { close(descriptor) }
            var request = "POST \(path) HTTP/1.1\r\nHost: localhost\r\n\(framing)\r\nConnection: close\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            send(Array((request + "\r\n").utf8) + body, to: descriptor)
            return receive(from: descriptor)
        }
    }

    /// POSTs `body` with `Expect: 100-continue`: sends the head, waits (up to 60 s) for an interim answer, then sends
    /// the body unless the server already answered finally. Returns the interim answer ("" when none came) and the rest.
    static func postExpectingContinue(
        port: Int, path: String, headers: [String: String], body: [UInt8]
    ) async throws -> (
        interim: String, answer: String
    ) {
        try await RawHTTP.onOwnThread {
            let descriptor = try connect(port: port)
            defer { close(descriptor) }
            var request = "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\n"
            request += "Expect: 100-continue\r\nConnection: close\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            send(Array((request + "\r\n").utf8), to: descriptor)
            // The first read holds an interim answer or the final one's first bytes.
            let first = receive(from: descriptor) { _ in true }
            guard first.hasPrefix("HTTP/1.1 1") else { return ("", first + receive(from: descriptor)) }
            send(body, to: descriptor)
            return (first, receive(from: descriptor))
        }
    }

    /// Sends all of `bytes`. The server may answer and stop reading early: a failed send is not an error, the answer
    /// is what counts.
    static func send(_ bytes: [UInt8], to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }
            offset += sent
        }
    }

    /// What the server sends until it closes the connection (or the receive timeout passes), or until `enough` says
    /// that the text read so far will do.
    static func receive(from descriptor: Int32, until enough: (String) -> Bool = { _ in false }) -> String {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer[0..<count]
            if enough(String(decoding: answer, as: UTF8.self)) { break }
        }
        return String(decoding: answer, as: UTF8.self)
    }

    struct ConnectFailed: Error {}

    /// Runs blocking socket I/O on a thread of its own. Not on `NIOThreadPool.singleton`: the server under test uses
    /// that pool (upload files, image decoding), and a test blocked in `recv` on it could starve the very request it
    /// waits for (two such tests at once hold both threads of a 2-core machine).
    static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.start()
        }
    }

    /// A TCP connection to localhost (IPv4, else IPv6) with a 60-second receive timeout (a hang guard only).
    static func connect(port: Int) throws -> Int32 {
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = in_port_t(UInt16(port).bigEndian)
        v4.sin_addr.s_addr = inet_addr("127.0.0.1")
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = in_port_t(UInt16(port).bigEndian)
        v6.sin6_addr = in6addr_loopback
        for family in [AF_INET, AF_INET6] {
            let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { continue }
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let result =
                family == AF_INET
                ? withUnsafePointer(to: &v4) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                : withUnsafePointer(to: &v6) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                    }
                }
            if result == 0 { return descriptor }
            close(descriptor)
        }
        throw ConnectFailed()
    }
}
