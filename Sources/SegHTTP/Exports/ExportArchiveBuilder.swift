import Foundation
import SegCore
import SegStorage

/// One image handed to `ExportArchiveBuilder`.
struct ExportArchiveItem: Sendable {
    /// The image's name as uploaded.
    var name: String
    /// `png` or `jpeg`.
    var format: String
    var width: Int
    var height: Int
    /// A local file with the original's bytes, added under `images/` when the export includes images.
    var originalURL: URL?
    /// The latest segmentation's polygons; `nil` when the image has none (it is skipped and named in README.txt).
    var polygons: [Polygon]?
}

/// Writes an export ZIP into a temporary file, one image at a time, with memory bounded by the largest image.
///
/// Layout (docs/exports.md): `coco/annotations.json`, `yolo/<image>.txt` with `yolo/classes.txt`,
/// `geojson/<image>.geojson`, `csv/metrics.csv`, `masks/<image>.png`, `spheroseg/<image>.json`, `images/<image>` on
/// request, and `README.txt`. Every file is made by SegCore's encoder for its format: per-image formats directly;
/// COCO and CSV, which cover every image, from SegCore's output for each image, spliced into one document (COCO ids
/// renumbered as SegCore numbers them for the whole set), through temporary files rather than memory. Class indices
/// (COCO categories, YOLO classes) follow the classes' first appearance, as SegCore's own class list does.
///
/// ZIP entries are deflated except PNG masks and original images (already compressed); every entry carries the
/// export's creation time, so the same input gives the same archive. `StreamingZipWriter` writes the ZIP front to back.
///
/// It is a class because the ZIP and the temporary files are open state; `@unchecked Sendable` because one export job
/// owns it and calls it from one task at a time (each call on the thread pool is awaited before the next), so its
/// state is never touched concurrently.
final class ExportArchiveBuilder: @unchecked Sendable {
    let formats: Set<ExportFormat>
    let scale: Double?
    let includeImages: Bool
    let date: Date
    let zipURL: URL

    private let zip: StreamingZipWriter
    private var names = ArchiveNames()
    private var classes: [String] = []
    private var exported: [(original: String, fileName: String, objects: Int)] = []
    private var skipped: [String] = []
    private var annotationCount = 0
    private let cocoImages: SpoolFile?
    private let cocoAnnotations: SpoolFile?
    private let csv: SpoolFile?
    private var temporaries: [URL] = []

    /// A builder writing to `zipURL`, with its other temporary files from `makeTemporaryURL`.
    init(
        zipURL: URL, formats: [ExportFormat], options: ExportOptions, date: Date, makeTemporaryURL: () -> URL
    ) throws {
        let chosen = Set(formats)
        let zip = try StreamingZipWriter(url: zipURL)
        var made: [URL] = [zipURL]
        func temporary() throws -> SpoolFile {
            let file = try SpoolFile(url: makeTemporaryURL())
            made.append(file.url)
            return file
        }
        let cocoImages: SpoolFile?
        let cocoAnnotations: SpoolFile?
        let csv: SpoolFile?
        do {
            cocoImages = chosen.contains(.coco) ? try temporary() : nil
            cocoAnnotations = chosen.contains(.coco) ? try temporary() : nil
            csv = chosen.contains(.csv) ? try temporary() : nil
            if let csv { try csv.write(Array(try MetricsCSVExport.csv([], scale: options.scaleUmPerPx).utf8)) }
        } catch {
            for url in made { try? FileManager.default.removeItem(at: url) }
            throw error
        }
        self.formats = chosen
        self.scale = options.scaleUmPerPx
        self.includeImages = options.includeImages
        self.date = date
        self.zipURL = zipURL
        self.zip = zip
        self.cocoImages = cocoImages
        self.cocoAnnotations = cocoAnnotations
        self.csv = csv
        self.temporaries = made
    }

    /// Removes every temporary file, the ZIP included (call it when the export failed, or after storing the ZIP).
    func discard() {
        cocoImages?.close()
        cocoAnnotations?.close()
        csv?.close()
        for url in temporaries { try? FileManager.default.removeItem(at: url) }
    }

    /// Adds one image in every chosen format, or records it as skipped when it has no segmentation.
    func add(_ item: ExportArchiveItem) throws {
        guard let polygons = item.polygons else {
            skipped.append(item.name)
            return
        }
        let (stem, fileName) = names.allocate(for: item.name, format: item.format)
        let image = ExportImage(name: fileName, width: item.width, height: item.height, polygons: polygons)
        for polygon in polygons where !classes.contains(polygon.className) {
            classes.append(polygon.className)
        }
        let index = exported.count + 1
        exported.append((item.name, fileName, polygons.count))

        if formats.contains(.coco), let cocoImages, let cocoAnnotations {
            try appendCOCO(image, index: index, images: cocoImages, annotations: cocoAnnotations)
        }
        if formats.contains(.yolo) {
            let text = try YOLOExport.labels([image], classes: classes).files.first ?? ""
            try addEntry("yolo/\(stem).txt", bytes: Array(text.utf8), compressed: true)
        }
        if formats.contains(.geojson) {
            try addEntry("geojson/\(stem).geojson", bytes: try GeoJSONExport.featureCollection(image, scale: scale), compressed: true)
        }
        if formats.contains(.csv), let csv {
            let text = try MetricsCSVExport.csv([image], scale: scale)
            // Every row but SegCore's header, which the file already starts with.
            if let end = text.utf8.firstIndex(of: 0x0A) {
                try csv.write(Array(text.utf8[text.utf8.index(after: end)...]))
            }
        }
        if formats.contains(.masks) {
            try addEntry("masks/\(stem).png", bytes: try LabelMaskExport.png(image), compressed: false)
        }
        if formats.contains(.spheroseg) {
            try addEntry("spheroseg/\(stem).json", bytes: try SpherosegExport.json(image), compressed: true)
        }
        if includeImages {
            guard let original = item.originalURL else { throw StorageError.notFound(entity: "object", id: "original of \(item.name)") }
            try addFile("images/\(fileName)", url: original, compressed: false)
        }
    }

    /// Writes the files that cover every image and README.txt, and closes the ZIP.
    func finish(projectName: String, exportID: UUID) throws {
        if formats.contains(.coco), let cocoImages, let cocoAnnotations {
            try finishCOCO(images: cocoImages, annotations: cocoAnnotations)
        }
        if formats.contains(.yolo) {
            try addEntry("yolo/classes.txt", bytes: Array(classes.map { $0 + "\n" }.joined().utf8), compressed: true)
        }
        if let csv {
            csv.close()
            try addFile("csv/metrics.csv", url: csv.url, compressed: true)
        }
        let readme = ExportReadme(
            projectName: projectName, exportID: exportID, date: date, formats: formats, scale: scale, includeImages: includeImages,
            classes: classes, exported: exported.map { ($0.original, $0.fileName, $0.objects) }, skipped: skipped)
        try addEntry("README.txt", bytes: Array(readme.text.utf8), compressed: true)
        try zip.finish()
    }

    // MARK: - COCO

    /// Appends the image's entry and its annotations, renumbered as COCOExport numbers them for the whole set.
    private func appendCOCO(_ image: ExportImage, index: Int, images: SpoolFile, annotations: SpoolFile) throws {
        let document = try COCOExport.json([image], classes: classes)
        guard let object = try JSONSerialization.jsonObject(with: Data(document)) as? [String: Any],
            var imageEntries = object["images"] as? [[String: Any]], imageEntries.count == 1,
            let annotationEntries = object["annotations"] as? [[String: Any]]
        else { throw ExportBuildError("COCOExport wrote an unexpected document") }
        imageEntries[0]["id"] = index
        try images.write(Array((index > 1 ? "," : "").utf8) + (try Self.json(imageEntries[0])))
        for var annotation in annotationEntries {
            annotationCount += 1
            annotation["id"] = annotationCount
            annotation["image_id"] = index
            try annotations.write(Array((annotationCount > 1 ? "," : "").utf8) + (try Self.json(annotation)))
        }
    }

    /// Joins the parts into `coco/annotations.json` with SegCore's `info`, `licenses` and `categories`.
    private func finishCOCO(images: SpoolFile, annotations: SpoolFile) throws {
        let frame = try COCOExport.json([], classes: classes)
        guard let object = try JSONSerialization.jsonObject(with: Data(frame)) as? [String: Any],
            let info = object["info"], let licenses = object["licenses"], let categories = object["categories"]
        else { throw ExportBuildError("COCOExport wrote an unexpected document") }
        images.close()
        annotations.close()
        let joined = try SpoolFile(url: images.url.appendingPathExtension("coco"))
        temporaries.append(joined.url)
        defer { joined.close() }
        try joined.write(Array(#"{"info":"#.utf8) + (try Self.json(info)) + Array(#","licenses":"#.utf8) + (try Self.json(licenses)))
        try joined.write(Array(#","images":["#.utf8))
        try joined.append(contentsOf: images.url)
        try joined.write(Array(#"],"annotations":["#.utf8))
        try joined.append(contentsOf: annotations.url)
        try joined.write(Array(#"],"categories":"#.utf8) + (try Self.json(categories)) + Array("}".utf8))
        joined.close()
        try addFile("coco/annotations.json", url: joined.url, compressed: true)
    }

    private static func json(_ value: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]))
    }

    // MARK: - ZIP entries

    private func addEntry(_ path: String, bytes: [UInt8], compressed: Bool) throws {
        try zip.add(path, data: Data(bytes), compressed: compressed, date: date)
    }

    private func addFile(_ path: String, url: URL, compressed: Bool) throws {
        try zip.add(path, file: url, compressed: compressed, date: date)
    }
}

/// A failure of the archive builder itself (not of its input).
struct ExportBuildError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A temporary file written sequentially.
final class SpoolFile {
    let url: URL
    private var handle: FileHandle?

    init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ExportBuildError("cannot create a temporary file")
        }
        self.url = url
        self.handle = try FileHandle(forWritingTo: url)
    }

    func write(_ bytes: [UInt8]) throws {
        guard let handle else { throw ExportBuildError("the temporary file is closed") }
        try handle.write(contentsOf: bytes)
    }

    /// Copies the file at `other` to the end of this one, in chunks.
    func append(contentsOf other: URL) throws {
        guard let handle else { throw ExportBuildError("the temporary file is closed") }
        let source = try FileHandle(forReadingFrom: other)
        defer { try? source.close() }
        while let chunk = try source.read(upToCount: 1 << 16), !chunk.isEmpty {
            try handle.write(contentsOf: chunk)
        }
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}
