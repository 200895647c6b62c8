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

    @Test func containsFollowsTheEvenOddRule() {
        // A U shape: its notch is outside.
        let u = Self.p([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
        #expect(PolygonValidation.contains(u, Point2D(x: 5, y: 20)))
        #expect(!PolygonValidation.contains(u, Point2D(x: 15, y: 20)))
        #expect(PolygonValidation.contains(u, Point2D(x: 15, y: 10)))  // on the notch's edge
        #expect(!PolygonValidation.contains(u, Point2D(x: 31, y: 5)))
    }
}
