import Foundation
import HTTPTypes
import HummingbirdTesting
import SegCore
import SegHTTP
import Testing

/// TIFF and BMP through the API: what an upload stores (format, pages, the PNG display rendition, the original), the
/// display of other pages, and workers segmenting the page the parameters name at full precision.
@Suite(.timeLimit(.minutes(5))) struct MicroscopyImagesTests {
    struct UploadedImage: Decodable {
        var id: UUID
        var name: String
        var format: String
        var width: Int
        var height: Int
        var pages: Int
    }

    struct Uploaded: Decodable {
        var items: [UploadedImage]
    }

    /// A two-page 16-bit stack: on a background of about 1000, a disc of 3000 at x = 30 on page 0 and at x = 66 on page 1.
    static let stackWidth = 96
    static let stackHeight = 64
    static let discs = [30, 66]

    static func stack() -> [UInt8] {
        let pages = discs.map { cx in
            (0..<(stackHeight * stackWidth)).map { i -> UInt16 in
                let (x, y) = (i % stackWidth, i / stackWidth)
                let inside = (x - cx) * (x - cx) + (y - 32) * (y - 32) <= 144
                return inside ? 3000 : UInt16(1000 + (x * 7 + y * 13) % 50)
            }
        }
        return HandmadeImages.tiff16(width: stackWidth, height: stackHeight, pages: pages)
    }

    @Test func aSixteenBitStackIsStoredWithItsPagesAndShownStretched() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let tiff = Self.stack()
            let bmp = HandmadeImages.bmp24(width: 40, height: 30) { x, y in x >= 10 && x < 20 && y >= 5 && y < 15 ? (230, 20, 20) : (10, 10, 60) }

            // MUT
            let response = try await app.upload(to: project, as: owner, parts: [.file("stack.tif", tiff), .file("cells.bmp", bmp)])

            // validate: the header's facts
            #expect(response.status == .created)
            let items = try response.decode(Uploaded.self).items
            try #require(items.count == 2, "\(String(buffer: response.body))")
            let (stack, cells) = (items[0], items[1])
            #expect(stack.format == "tiff" && stack.pages == 2)
            #expect(stack.width == Self.stackWidth && stack.height == Self.stackHeight)
            #expect(cells.format == "bmp" && cells.pages == 1 && cells.width == 40 && cells.height == 30)

            // The original: the same bytes, as TIFF.
            let original = try await app.request(.get, "/api/v1/images/\(stack.id)/original", as: owner)
            #expect(Array(original.body.readableBytesView) == tiff)
            #expect(original.headers[.contentType] == "image/tiff")

            // The display: an 8-bit PNG stretched from the 16-bit samples (the disc white, the background near black),
            // page 0 by default and page 1 on request.
            for (page, query) in [(0, ""), (0, "?page=0"), (1, "?page=1")] {
                let display = try await app.request(.get, "/api/v1/images/\(stack.id)/display\(query)", as: owner)
                #expect(display.status == .ok)
                #expect(display.headers[.contentType] == "image/png")
                let gray = try ImageDecoder.decodeGray(Array(display.body.readableBytesView))
                #expect(gray.width == Self.stackWidth && gray.height == Self.stackHeight)
                let other = Self.discs[1 - page]
                #expect(gray[Self.discs[page], 32] >= 240, "page \(page): disc \(gray[Self.discs[page], 32])")
                #expect(gray[other, 32] <= 40 && gray[5, 5] <= 40, "page \(page): background \(gray[other, 32]), \(gray[5, 5])")
            }

            // The thumbnail is made from the same view: a JPEG with the disc of page 0.
            let thumbnail = try await app.request(.get, "/api/v1/images/\(stack.id)/thumbnail", as: owner)
            #expect(thumbnail.headers[.contentType] == "image/jpeg")
            let small = try ImageDecoder.decodeGray(Array(thumbnail.body.readableBytesView))
            let scale = Double(small.width) / Double(Self.stackWidth)
            #expect(small[Int(30 * scale), Int(32 * scale)] > 200 && small[Int(66 * scale), Int(32 * scale)] < 60)

            // A page that is not there, or not a number, is a 400 naming it; a BMP is shown as stored.
            let missing = try await app.request(.get, "/api/v1/images/\(stack.id)/display?page=2", as: owner)
            #expect(missing.status == .badRequest && missing.problemCode == "VALIDATION_FAILED")
            #expect(String(buffer: missing.body).contains("2 page"), "\(String(buffer: missing.body))")
            let negative = try await app.request(.get, "/api/v1/images/\(stack.id)/display?page=-1", as: owner)
            #expect(negative.status == .badRequest && negative.problemCode == "VALIDATION_FAILED")
            let both = try await app.request(.get, "/api/v1/images/\(stack.id)/display?page=1&z=0", as: owner)
            #expect(both.status == .badRequest && both.problemCode == "VALIDATION_FAILED")
            let shown = try await app.request(.get, "/api/v1/images/\(cells.id)/display", as: owner)
            #expect(shown.headers[.contentType] == "image/bmp")
            #expect(Array(shown.body.readableBytesView) == bmp)
        }
    }

    struct SegmentRequest: Encodable, Sendable {
        struct Parameters: Encodable, Sendable {
            var page: Int
            var preset: String
        }
        var imageIds: [UUID]
        var parameters: Parameters
    }

    struct Stored: Decodable {
        struct Parameters: Decodable {
            struct Outcome: Decodable {
                var threshold: Double
                var polarity: String
                var objectsSplit: Int
            }
            var page: Int?
            var outcome: Outcome?
        }
        var polygons: [Polygon]
        var parameters: Parameters
        var segmenter: String
    }

    @Test func workersSegmentThePageTheParametersNameAtFullPrecision() async throws {
        try await withTestApp(environment: ["SEG_WORKERS": "1"], role: .all) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let upload = try await app.upload(to: project, as: owner, parts: [.file("stack.tif", Self.stack())])
            let image = try #require(try upload.decode(Uploaded.self).items.first).id

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner,
                json: SegmentRequest(imageIds: [image], parameters: .init(page: 1, preset: "nuclei")))
            #expect(response.status == .accepted)
            try await app.waitForStatus("segmented", of: image)

            // validate: one object, page 1's disc; the threshold in the file's own units, between its two levels
            let stored = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner).decode(Stored.self)
            #expect(stored.segmenter == "builtin")
            try #require(stored.polygons.count == 1, "\(stored.polygons.count) polygons")
            let xs = stored.polygons[0].exterior.map(\.x)
            let middle = ((xs.min() ?? 0) + (xs.max() ?? 0)) / 2
            #expect(abs(middle - 66.5) < 2, "the object is centred at x = \(middle)")
            #expect(stored.parameters.page == 1)
            let outcome = try #require(stored.parameters.outcome)
            #expect(outcome.polarity == "bright" && outcome.objectsSplit == 0)
            #expect(outcome.threshold > 1049 && outcome.threshold < 3000, "threshold \(outcome.threshold)")

            // A manual edit keeps the page the polygons were drawn on.
            let edit = try await app.request(
                .put, "/api/v1/images/\(image)/segmentation", as: owner, json: ["polygons": [["exterior": [[60, 30], [70, 30], [70, 36]]]]])
            #expect(edit.status == .ok || edit.status == .created, "\(edit.status)")
            let edited = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner).decode(Stored.self)
            #expect(edited.segmenter == "manual")
            #expect(edited.parameters.page == 1 && edited.parameters.outcome == nil)

            // A page the file does not have fails the job for good, with the reason; the stored version stays.
            _ = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner,
                json: SegmentRequest(imageIds: [image], parameters: .init(page: 7, preset: "nuclei")))
            try await app.waitForStatus("failed", of: image)
            let jobs = try await app.jobs(of: image)
            #expect(jobs.last?.state == "failed" && jobs.last?.lastError?.contains("page 7") == true, "\(jobs.map(\.lastError))")
            let kept = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner).decode(Stored.self)
            #expect(kept.segmenter == "manual")
        }
    }
}

/// Images written byte by byte from the formats' specifications, so that the decoders (libtiff, ours) are checked
/// against an encoding that is not their own.
enum HandmadeImages {
    private static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    private static func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16 & 0xFFFF) }

    /// A little-endian baseline TIFF: one 16-bit gray page (MinIsBlack, uncompressed, one strip) per element of `pages`.
    static func tiff16(width: Int, height: Int, pages: [[UInt16]]) -> [UInt8] {
        var out: [UInt8] = [0x49, 0x49, 42, 0] + le32(8)
        for (index, samples) in pages.enumerated() {
            let entries = 9
            let ifdStart = out.count
            let dataStart = ifdStart + 2 + 12 * entries + 4
            let next = index + 1 < pages.count ? dataStart + samples.count * 2 : 0
            // tag, type (3 SHORT, 4 LONG), value
            let tags: [(Int, Int, Int)] = [
                (256, 4, width), (257, 4, height), (258, 3, 16), (259, 3, 1), (262, 3, 1), (273, 4, dataStart), (277, 3, 1),
                (278, 4, height), (279, 4, samples.count * 2),
            ]
            out += le16(entries)
            for (tag, type, value) in tags {
                out += le16(tag) + le16(type) + le32(1) + (type == 3 ? le16(value) + [0, 0] : le32(value))
            }
            out += le32(next)
            for sample in samples { out += le16(Int(sample)) }
        }
        return out
    }

    /// A 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes) of the colours `pixel(x, y)` gives as RGB.
    static func bmp24(width: Int, height: Int, _ pixel: (Int, Int) -> (UInt8, UInt8, UInt8)) -> [UInt8] {
        let rowBytes = (width * 3 + 3) / 4 * 4
        let size = 54 + rowBytes * height
        var out: [UInt8] = [0x42, 0x4D] + le32(size) + le32(0) + le32(54)
        out += le32(40) + le32(width) + le32(height) + le16(1) + le16(24) + le32(0) + le32(rowBytes * height) + le32(2835) + le32(2835)
        out += le32(0) + le32(0)
        for y in stride(from: height - 1, through: 0, by: -1) {
            var row: [UInt8] = []
            for x in 0..<width {
                let (r, g, b) = pixel(x, y)
                row += [b, g, r]
            }
            out += row + [UInt8](repeating: 0, count: rowBytes - row.count)
        }
        return out
    }
}
