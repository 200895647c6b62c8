import Testing

@testable import SegCore

@Suite struct PolygonSimplifierTests {
    /// Every ring of every fixture polygon, at every epsilon: the very vertices OpenCV's
    /// `approxPolyDP(closed=true)` returned, in the same order and from the same start.
    @Test func closedRingsMatchOpenCVExactly() throws {
        let fixture = try MetricsFixture.shared.get()
        // setup: the fixture must really hold the cases we claim to check
        #expect(fixture.polygons.count >= 140)
        #expect(fixture.epsilons == [0.5, 1.0, 2.0, 3.7])
        var compared = 0
        var mismatches: [String] = []
        for entry in fixture.polygons {
            let rings = [entry.exterior] + entry.holes
            for (r, ring) in rings.enumerated() {
                for (k, eps) in fixture.epsilons.enumerated() {
                    let expected = entry.approx[r][k].map(MetricsFixture.Entry.point)
                    // MUT: the Double overload, and for traced rings also the integer one
                    let got = PolygonSimplifier.simplifyClosed(ring.map(MetricsFixture.Entry.point), epsilon: eps)
                    if got != expected { mismatches.append("\(entry.name) ring \(r) eps \(eps): \(got.count) vs \(expected.count)") }
                    if !entry.float {
                        let gotInt = PolygonSimplifier.simplifyClosed(ring.map(MetricsFixture.Entry.pixel), epsilon: eps)
                        if gotInt != entry.approx[r][k].map(MetricsFixture.Entry.pixel) {
                            mismatches.append("\(entry.name) ring \(r) eps \(eps) (integer overload)")
                        }
                    }
                    compared += 1
                }
            }
        }
        // validate
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(compared) rings differ: \(mismatches.prefix(10))")
        #expect(compared >= 600)
    }

    /// The exterior as an open polyline (`approxPolyDP(closed=false)`, ε = 2).
    @Test func openCurvesMatchOpenCVExactly() throws {
        let fixture = try MetricsFixture.shared.get()
        var mismatches: [String] = []
        for entry in fixture.polygons {
            let got = PolygonSimplifier.simplifyOpen(entry.exteriorPoints, epsilon: 2)
            let expected = entry.approxOpenEps2.map(MetricsFixture.Entry.point)
            if got != expected { mismatches.append("\(entry.name): \(got) vs \(expected)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func emptyRingGivesEmptyResult() {
        #expect(PolygonSimplifier.simplifyClosed([Point2D](), epsilon: 2).isEmpty)
        #expect(PolygonSimplifier.simplifyOpen([Point](), epsilon: 2).isEmpty)
    }

    /// A ring whose vertices all lie within ε of each other collapses to one vertex (OpenCV keeps
    /// the start of its third farthest-point round).
    @Test func tinyRingCollapsesToOneVertex() {
        let ring = [Point(0, 0), Point(1, 0), Point(1, 1), Point(0, 1)]
        // rounds: start 0 → farthest (1,1) at index 2 → farthest from it (0,0) at index 0 → start is index 0
        #expect(PolygonSimplifier.simplifyClosed(ring, epsilon: 2) == [Point(0, 0)])
    }

    /// Hand-computed: a staircase is straightened, the square's corners stay.
    @Test func squareCornersSurviveAndStaircaseGoes() {
        // 10×10 square with a 1-px notch in the middle of its top edge
        let ring = [Point(0, 0), Point(4, 0), Point(5, 1), Point(6, 0), Point(10, 0), Point(10, 10), Point(0, 10)]
        let simplified = PolygonSimplifier.simplifyClosed(ring, epsilon: 2)
        #expect(Set(simplified) == [Point(0, 0), Point(10, 0), Point(10, 10), Point(0, 10)])
        // with ε below the notch depth (1 px) the notch stays
        #expect(PolygonSimplifier.simplifyClosed(ring, epsilon: 0.5).count == 7)
    }

    @Test(arguments: [-1.0, .nan])
    func invalidEpsilonActsAsZero(eps: Double) {
        let ring = [Point(0, 0), Point(4, 0), Point(5, 1), Point(6, 0), Point(10, 0), Point(10, 10), Point(0, 10)]
        #expect(PolygonSimplifier.simplifyClosed(ring, epsilon: eps) == PolygonSimplifier.simplifyClosed(ring, epsilon: 0))
    }

    @Test func closedLengthIsTheSimplifiedPerimeter() {
        let ring = [
            Point2D(x: 0, y: 0), Point2D(x: 4, y: 0), Point2D(x: 5, y: 1), Point2D(x: 6, y: 0), Point2D(x: 10, y: 0),
            Point2D(x: 10, y: 10), Point2D(x: 0, y: 10),
        ]
        #expect(PolygonSimplifier.closedLength(ring, epsilon: 2) == 40)
    }
}
