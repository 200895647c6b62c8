import Foundation
import SegCore

// What the segmentation routes read from a request body before any storage is touched.

/// The builtin segmenter's parameters as a request gives them: every key must be one of the segmenter's, and a bad
/// value is reported with its field (`parameters.minArea`) instead of failing the whole body's decoding.
struct ParametersInput: Decodable {
    /// The decoded parameters, or the 400 to answer.
    var result: Result<SegmenterParameters, Problem>

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The keys of SegCore's parameters, plus `outcome`: stored segmentations carry what the segmenter chose under it
    /// (read-only, ignored here), so parameters read from a segmentation can be sent back as they are.
    static let knownKeys: Set<String> = SegmenterParameters.jsonKeys.union([SegmentationOutcome.key])

    init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<AnyKey>
        do {
            container = try decoder.container(keyedBy: AnyKey.self)
        } catch {
            result = .failure(.validation("parameters must be an object", errors: [.init(field: "parameters", detail: "must be an object")]))
            return
        }
        if let unknown = container.allKeys.map(\.stringValue).filter({ !Self.knownKeys.contains($0) }).sorted().first {
            result = .failure(
                .validation(
                    "parameters.\(unknown) is not a parameter of the builtin segmenter",
                    errors: [
                        .init(field: "parameters.\(unknown)", detail: "unknown parameter; known: \(Self.knownKeys.sorted().joined(separator: ", "))")
                    ]
                ))
            return
        }
        do {
            result = .success(try SegmenterParameters(from: decoder))
        } catch let error as DecodingError {
            let (path, detail) = Self.describe(error)
            let field = path.isEmpty ? "parameters" : "parameters.\(path)"
            result = .failure(.validation("\(field): \(detail)", errors: [.init(field: field, detail: detail)]))
        }
    }

    /// The failing key (below `parameters`) and a message about its value: the segmenter's own
    /// explanation (SegCore's checks put it in the error's description), the choices for an enum.
    static func describe(_ error: DecodingError) -> (String, String) {
        let context: DecodingError.Context
        switch error {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c): context = c
        case .keyNotFound(let key, _): return (key.stringValue, error.fieldError.detail)
        @unknown default: return ("", error.fieldError.detail)
        }
        let keys = context.codingPath.filter { $0.intValue == nil }.map(\.stringValue)
        let key = keys.last(where: { knownKeys.contains($0) }) ?? ""
        let detail: String
        switch key {
        case "polarity":
            detail = "must be one of \(SegmenterParameters.Polarity.allCases.map(\.rawValue).joined(separator: ", "))"
        case "background":
            detail = "must be one of \(SegmenterParameters.BackgroundCorrection.allCases.map(\.rawValue).joined(separator: ", "))"
        default:
            detail = context.debugDescription.isEmpty ? error.fieldError.detail : context.debugDescription
        }
        return (key, detail)
    }
}

/// One polygon of a PUT body, kept as a decoding failure rather than failing the whole body, so that the answer can
/// name the polygon's index.
struct PolygonInput: Decodable, Sendable {
    /// The polygon, or why it does not decode.
    var result: Result<Polygon, PolygonProblem>

    init(from decoder: any Decoder) throws {
        do {
            result = .success(try Polygon(from: decoder))
        } catch let error as DecodingError {
            let problem = error.fieldError
            result = .failure(PolygonProblem(reason: "\(problem.field) \(problem.detail)"))
        }
    }
}

/// Why a polygon of a PUT is rejected.
struct PolygonProblem: Error, Sendable {
    var reason: String
}

extension PolygonInput {
    /// The polygons of a PUT with ids `polygon_1…`, area and metrics recomputed from their rings
    /// (SegCore's `PolygonValidation` judges each one).
    /// - Throws: 422 `INVALID_POLYGON` naming the first bad polygon's index.
    static func validated(_ inputs: [PolygonInput], width: Double, height: Double, limits: PolygonLimits) throws -> [Polygon] {
        try checkLimits(inputs, limits)
        var result: [Polygon] = []
        result.reserveCapacity(inputs.count)
        for (index, input) in inputs.enumerated() {
            let polygon: Polygon
            switch input.result {
            case .success(let decoded): polygon = decoded
            case .failure(let problem): throw invalid(index, problem.reason)
            }
            if let reason = PolygonValidation.problem(in: polygon, width: width, height: height) { throw invalid(index, reason) }
            var stored = PolygonExtractor.measured(polygon)
            stored.id = "polygon_\(index + 1)"
            result.append(stored)
        }
        return result
    }

    /// 422 `POLYGON_LIMIT_EXCEEDED` when the PUT carries more polygons, holes or vertices than `limits` allow; counted
    /// before anything is checked or measured.
    static func checkLimits(_ inputs: [PolygonInput], _ limits: PolygonLimits) throws {
        func exceeded(_ field: String, _ detail: String) -> Problem {
            Problem(.unprocessableContent, code: "POLYGON_LIMIT_EXCEEDED", detail: detail, errors: [.init(field: field, detail: detail)])
        }
        guard inputs.count <= limits.polygons else {
            throw exceeded("polygons", "at most \(limits.polygons) polygons per image (SEG_MAX_POLYGONS); this has \(inputs.count)")
        }
        var total = 0
        for (index, input) in inputs.enumerated() {
            guard case .success(let polygon) = input.result else { continue }
            guard polygon.holes.count <= limits.holes else {
                throw exceeded("polygons[\(index)].holes", "at most \(limits.holes) holes per polygon (SEG_MAX_HOLES)")
            }
            for (name, ring) in [("exterior", polygon.exterior)] + polygon.holes.enumerated().map({ ("holes[\($0)]", $1) }) {
                guard ring.count <= limits.ringVertices else {
                    throw exceeded("polygons[\(index)].\(name)", "at most \(limits.ringVertices) vertices per ring (SEG_MAX_RING_VERTICES)")
                }
                total += ring.count
            }
            guard total <= limits.vertices else {
                throw exceeded("polygons", "at most \(limits.vertices) vertices in all (SEG_MAX_VERTICES)")
            }
        }
    }

    static func invalid(_ index: Int, _ reason: String) -> Problem {
        Problem(
            .unprocessableContent, code: "INVALID_POLYGON", detail: "polygon \(index): \(reason)",
            errors: [.init(field: "polygons[\(index)]", detail: reason)])
    }
}

/// A request's `parameters` for a model (`threshold`, `minArea`, `holes`, `scale`, `selection`): decoded, or the 400
/// naming every bad field.
struct ModelParametersInput: Decodable {
    /// The decoded parameters, or the 400 to answer.
    var result: Result<ModelParameters, Problem>

    init(from decoder: any Decoder) throws {
        let container: KeyedDecodingContainer<ParametersInput.AnyKey>
        do {
            container = try decoder.container(keyedBy: ParametersInput.AnyKey.self)
        } catch {
            result = .failure(.validation("parameters must be an object", errors: [.init(field: "parameters", detail: "must be an object")]))
            return
        }
        let unknown = container.allKeys.map(\.stringValue).filter { !ModelParameters.keys.contains($0) }.sorted()
        if !unknown.isEmpty {
            let known = ModelParameters.keys.sorted().joined(separator: ", ")
            result = .failure(
                .validation(
                    "parameters.\(unknown[0]) is not a parameter of a model",
                    errors: unknown.map { .init(field: "parameters.\($0)", detail: "unknown parameter for a model; known: \(known)") }))
            return
        }
        let parameters: ModelParameters
        do {
            parameters = try ModelParameters(from: decoder)
        } catch let error as DecodingError {
            let problem = error.fieldError
            result = .failure(.validation("\(problem.field) \(problem.detail)", errors: [problem]))
            return
        }
        let problems = parameters.problems()
        guard problems.isEmpty else {
            result = .failure(
                .validation(
                    "\(problems[0].field) \(problems[0].detail)", errors: problems.map { .init(field: $0.field, detail: $0.detail) }))
            return
        }
        result = .success(parameters)
    }
}
