import Foundation
import Testing

@testable import SegCore

/// Edited polygons are judged by SegCore before they are stored (the HTTP tests check the 422 a
/// PUT answers; these check the geometry itself).
@Suite struct PolygonValidationTests {
    static func p(_ points: [(Double, Double)]) -> [Point2D] { points.map { Point2D(x: $0.0, y: $0.1) } }

    static let square = p([(10, 10), (90, 10), (90, 90), (10, 90)])

    @Test func aSquareWithAHoleInsideIsAccepted() {
        let polygon = Polygon(id: "", exterior: Self.square, holes: [Self.p([(40, 40), (60, 40), (60, 60), (40, 60)])])
        #expect(PolygonValidation.problem(in: polygon, width: 100, height: 100) == nil)
    }

    @Test func verticesOnTheImageEdgeAreInsideTheImage() {
        let polygon = Polygon(id: "", exterior: Self.p([(0, 0), (100, 0), (100, 50)]))
        #expect(PolygonValidation.problem(in: polygon, width: 100, height: 100) == nil)
        let beyond = Polygon(id: "", exterior: Self.p([(0, 0), (100.5, 0), (100, 50)]))
        #expect(PolygonValidation.problem(in: beyond, width: 100, height: 100) == "exterior: vertex 1 lies outside the image (0…100, 0…100)")
    }

    @Test func aHoleVertexOutsideTheExteriorIsNamed() {
        let hole = Self.p([(40, 40), (95, 40), (60, 60)])
        let polygon = Polygon(id: "", exterior: Self.square, holes: [Self.square, hole])
        #expect(PolygonValidation.problem(in: polygon, width: 100, height: 100) == "holes[1]: vertex 1 lies outside the exterior")
    }

    @Test func aHoleSharingTheExteriorsBoundaryIsInside() {
        // A traced 1-px ring: the hole's vertices lie on the exterior's edges.
        let hole = Self.p([(10, 50), (50, 10), (90, 50)])
        #expect(PolygonValidation.problem(in: Polygon(id: "", exterior: Self.square, holes: [hole]), width: 100, height: 100) == nil)
    }

    @Test func degenerateRingsAndBadNumbersAreRefused() {
        let twoPoints = Polygon(id: "", exterior: Self.p([(1, 1), (2, 2), (1, 1), (2, 2)]))
        #expect(PolygonValidation.problem(in: twoPoints, width: 10, height: 10) == "exterior: a ring needs at least 3 distinct points")
        let nan = Polygon(id: "", exterior: Self.p([(1, 1), (.nan, 2), (3, 1)]))
        #expect(PolygonValidation.problem(in: nan, width: 10, height: 10) == "exterior: vertex 1 is not a finite number")
    }

    @Test func classNamesMustBeOneToAHundredCharacters() {
        let ring = Self.p([(1, 1), (5, 1), (5, 5)])
        func problem(_ name: String) -> String? {
            PolygonValidation.problem(in: Polygon(id: "", className: name, exterior: ring), width: 10, height: 10)
        }
        #expect(problem(" ") != nil)
        #expect(problem(String(repeating: "é", count: 100)) == nil)
        #expect(problem(String(repeating: "a", count: 101)) != nil)
    }

    @Test func theBucketedRingAnswersAsTheWholeRingDoes() throws {
        // Star-shaped rings with noisy radii (concave, many edges per height), probed at random points, on their
        // vertices and on their edges' midpoints: the bucketed answer must be the plain even-odd answer every time.
        var generator = SystemRandomNumberGenerator()
        for vertices in [3, 7, 64, 500, 3000] {
            let ring = (0..<vertices).map { k -> Point2D in
                let angle = Double(k) / Double(vertices) * 2 * .pi
                let radius = Double.random(in: 20...100, using: &generator)
                return Point2D(x: 150 + radius * cos(angle), y: 150 + radius * sin(angle))
            }
            let index = try #require(PolygonValidation.RingIndex(ring))
            var probes = (0..<2000).map { _ in
                Point2D(x: Double.random(in: 30...270, using: &generator), y: Double.random(in: 30...270, using: &generator))
            }
            probes += ring
            probes += ring.indices.map {
                Point2D(x: (ring[$0].x + ring[($0 + 1) % vertices].x) / 2, y: (ring[$0].y + ring[($0 + 1) % vertices].y) / 2)
            }
            for point in probes {
                #expect(index.contains(point) == PolygonValidation.contains(ring, point), "\(vertices) vertices, \(point)")
            }
        }
    }

    @Test func anAxisAlignedRingWithHorizontalEdgesAndAFlatRingWork() throws {
        let square = [Point2D(x: 10, y: 10), Point2D(x: 90, y: 10), Point2D(x: 90, y: 90), Point2D(x: 10, y: 90)]
        let index = try #require(PolygonValidation.RingIndex(square))
        for point in [Point2D(x: 50, y: 10), Point2D(x: 50, y: 90), Point2D(x: 10, y: 50), Point2D(x: 50, y: 50), Point2D(x: 50, y: 91)] {
            #expect(index.contains(point) == PolygonValidation.contains(square, point), "\(point)")
        }
        let flat = [Point2D(x: 0, y: 5), Point2D(x: 5, y: 5), Point2D(x: 9, y: 5)]
        let line = try #require(PolygonValidation.RingIndex(flat))
        #expect(line.contains(Point2D(x: 3, y: 5)) == PolygonValidation.contains(flat, Point2D(x: 3, y: 5)))
        #expect(line.contains(Point2D(x: 3, y: 6)) == false)
    }

    @Test func aCombWithAFineHoleIsRefusedRatherThanCheckedSlowlyAndAcceptedWithACoarseOne() {
        // 2,000 teeth from top to bottom: every horizontal line meets 4,000 edges, so each hole vertex costs 4,000 edge
        // tests whatever the index; 30,000 of them would be over a hundred million.
        var ring: [Point2D] = []
        for tooth in 0..<2000 {
            let x = Double(tooth) * 2
            ring += [Point2D(x: x, y: 0), Point2D(x: x + 1, y: 1000), Point2D(x: x + 2, y: 0)]
        }
        func circle(_ vertices: Int) -> [Point2D] {
            (0..<vertices).map { k in
                let angle = Double(k) / Double(vertices) * 2 * .pi
                return Point2D(x: 1 + 0.2 * cos(angle), y: 10 + 0.2 * sin(angle))
            }
        }
        let fine = Polygon(id: "p", className: "cell", exterior: ring, holes: [circle(30_000)])
        let refused = PolygonValidation.problem(in: fine, width: 5000, height: 1000)
        #expect(refused?.contains("too intricate") == true, "\(refused ?? "accepted")")
        let coarse = Polygon(id: "p", className: "cell", exterior: ring, holes: [circle(12)])
        #expect(PolygonValidation.problem(in: coarse, width: 5000, height: 1000) == nil)
    }

    @Test func containsFollowsTheEvenOddRule() {
        // A U shape: its notch is outside.
        let u = Self.p([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
        #expect(PolygonValidation.contains(u, Point2D(x: 5, y: 20)))
        #expect(!PolygonValidation.contains(u, Point2D(x: 15, y: 20)))
        #expect(PolygonValidation.contains(u, Point2D(x: 15, y: 10)))  // on the notch's edge
        #expect(!PolygonValidation.contains(u, Point2D(x: 31, y: 5)))
    }
}
