import Foundation
import SegCore

/// Turns one file's result into the bytes of an output format.
enum Renderer {
    static func render(_ file: FileResult, format: OutputFormat, scale: Double?, includeHeader: Bool) throws -> [UInt8] {
        let image = ExportImage(name: file.name, width: file.width, height: file.height, polygons: file.polygons)
        switch format {
        case .json:
            return try jsonResult(file)
        case .geojson:
            return try GeoJSONExport.featureCollection(image, scale: scale)
        case .coco:
            return try COCOExport.json([image])
        case .yolo:
            return Array((try YOLOExport.labels([image]).files.first ?? "").utf8)
        case .csv:
            var text = try MetricsCSVExport.csv([image], scale: scale)
            if !includeHeader, let end = text.range(of: "\r\n") { text.removeSubrange(text.startIndex..<end.upperBound) }
            return Array(text.utf8)
        case .mask:
            return try LabelMaskExport.png(image)
        case .spheroseg:
            return try SpherosegExport.json(image)
        }
    }

    /// `{"image": {"name", "width", "height"}, "segmenter": {...}, "polygons": [...]}` on one line.
    static func jsonResult(_ file: FileResult) throws -> [UInt8] {
        struct ImageJSON: Encodable {
            var name: String
            var width: Int
            var height: Int
        }
        struct Output: Encodable {
            var image: ImageJSON
            var segmenter: SegmenterInfo
            var polygons: [Polygon]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = try encoder.encode(
            Output(image: ImageJSON(name: file.name, width: file.width, height: file.height), segmenter: file.segmenter, polygons: file.polygons))
        return [UInt8](data)
    }
}
