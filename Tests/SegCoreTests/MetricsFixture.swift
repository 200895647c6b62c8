import Foundation
import SegCore

/// The OpenCV reference polygons written by `scripts/fixtures/reference/metrics.py`
/// (`Fixtures/metrics/polygons.json`; see that script for what each field is).
struct MetricsFixture: Decodable {
    struct Metrics: Decodable {
        let area: Double
        let perimeter: Double
        let perimeterWithHoles: Double
        let equivalentDiameter: Double
        let circularity: Double
        let compactness: Double
        let convexity: Double
        let solidity: Double
        let sphericity: Double
        let extent: Double
        let boundingBox: [Double]
        let feretMax: Double
        let feretMin: Double
        let feretAspectRatio: Double
        let caliperMax: Double
        let majorAxis: Double
        let minorAxis: Double
        let centroid: [Double]
    }

    struct Entry: Decodable {
        let name: String
        let float: Bool
        let exterior: [[Double]]
        let holes: [[[Double]]]
        /// [ring][epsilon index][vertex][x, y]
        let approx: [[[[Double]]]]
        let approxOpenEps2: [[Double]]
        let contourArea: [Double]
        let arcLengthEps2: [Double]
        let hull: [[Double]]
        let hullArea: Double
        let hullPerimeter: Double
        let minAreaRect: [Double]
        let minAreaRectCandidates: [[Double]]
        let fitEllipse: [Double]?
        let ellipseDegenerate: Bool
        let boundingRect: [Double]
        let metrics: Metrics

        var exteriorPoints: [Point2D] { exterior.map(Self.point) }
        var holePoints: [[Point2D]] { holes.map { $0.map(Self.point) } }
        var rings: [[Point2D]] { [exteriorPoints] + holePoints }

        static func point(_ xy: [Double]) -> Point2D { Point2D(x: xy[0], y: xy[1]) }
        static func pixel(_ xy: [Double]) -> Point { Point(Int(xy[0]), Int(xy[1])) }
    }

    let opencv: String
    let epsilons: [Double]
    let polygons: [Entry]

    /// Loaded once for all suites.
    static let shared: Result<MetricsFixture, any Error> = Result {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw CocoaError(.fileNoSuchFile)
        }
        let data = try Data(contentsOf: root.appendingPathComponent("metrics/polygons.json"))
        return try JSONDecoder().decode(MetricsFixture.self, from: data)
    }
}

/// Relative error |a − b| / max(|a|, |b|), 0 when both are within 1e-12 of each other.
func relativeError(_ a: Double, _ b: Double) -> Double {
    let d = abs(a - b)
    if d <= 1e-12 { return 0 }
    return d / max(abs(a), abs(b))
}
