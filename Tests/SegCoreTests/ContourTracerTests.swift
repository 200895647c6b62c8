import Foundation
import Testing

@testable import SegCore

/// One mask of `Fixtures/trace` with what OpenCV's `findContours` returns for it, written by
/// `scripts/fixtures/reference/trace.py` (see its docstring for the format).
struct TraceFixture: Decodable {
    struct Entry: Decodable {
        let hole: Bool
        let none: [Int32]
        let simple: [Int32]
    }

    struct Index: Decodable {
        let opencv: String
        let masks: [String]
        let contours: Int
        let vertices: Int
    }

    let name: String
    let width: Int
    let height: Int
    let foreground: Int
    let checksum: UInt32
    /// In `RETR_CCOMP` order.
    let contours: [Entry]
    let ccompParent: [Int]
    /// `RETR_TREE`'s i-th contour is `contours[treeOrder[i]]`.
    let treeOrder: [Int]
    let treeParent: [Int]

    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("trace")

    static let index: Index? = directory.flatMap { dir in
        (try? Data(contentsOf: dir.appendingPathComponent("index.json"))).flatMap { try? JSONDecoder().decode(Index.self, from: $0) }
    }

    /// Loads the fixture and decodes its PNG mask (foreground = non-zero).
    static func load(_ name: String) throws -> (TraceFixture, BinaryMask) {
        let dir = try #require(directory)
        let fixture = try JSONDecoder().decode(TraceFixture.self, from: Data(contentsOf: dir.appendingPathComponent("\(name).json")))
        let png = try [UInt8](Data(contentsOf: dir.appendingPathComponent("\(name).png")))
        let mask = BinaryMask(nonZeroOf: try ImageDecoder.decodeGray(png))
        return (fixture, mask)
    }

    /// OpenCV's answer for one retrieval mode and approximation.
    func expected(_ retrieval: ContourRetrieval, _ approximation: ContourApproximation) -> [Contour] {
        func contour(_ i: Int, parent: Int) -> Contour {
            let flat = approximation == .none ? contours[i].none : contours[i].simple
            let points = stride(from: 0, to: flat.count, by: 2).map { Point(x: flat[$0], y: flat[$0 + 1]) }
            return Contour(points: points, isHole: contours[i].hole, parent: parent >= 0 ? parent : nil)
        }
        switch retrieval {
        case .ccomp: return contours.indices.map { contour($0, parent: ccompParent[$0]) }
        case .tree: return treeOrder.indices.map { contour(treeOrder[$0], parent: treeParent[$0]) }
        }
    }

    /// Sum over foreground pixels of x·7919 + y·104729, modulo 2³², as the script computes it.
    static func checksum(_ mask: BinaryMask) -> UInt32 {
        var sum: UInt64 = 0
        for y in 0..<mask.height {
            for x in 0..<mask.width where mask.pixels[y * mask.width + x] != 0 {
                sum &+= UInt64(x * 7919 + y * 104729)
            }
        }
        return UInt32(truncatingIfNeeded: sum)
    }
}

/// Describes the first difference between two contour lists, or returns nil when they are equal.
func contourDifference(_ got: [Contour], _ expected: [Contour]) -> String? {
    for i in 0..<min(got.count, expected.count) where got[i] != expected[i] {
        let g = got[i]
        let e = expected[i]
        func head(_ c: Contour) -> String {
            "\(c.points.count) points from \(c.points.prefix(6).map { "(\($0.x),\($0.y))" }.joined()) hole \(c.isHole) parent \(c.parent ?? -1)"
        }
        return "contour \(i) differs: got \(head(g)), expected \(head(e))"
    }
    return got.count == expected.count ? nil : "got \(got.count) contours, expected \(expected.count)"
}

/// A small deterministic generator for property tests (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct ContourTracerTests {
    static let fixtureNames = TraceFixture.index?.masks ?? []

    @Test func fixturesArePresent() throws {
        let index = try #require(TraceFixture.index, "Fixtures/trace/index.json is missing: run scripts/fixtures/make-reference.py")
        #expect(index.masks.count >= 30)
        #expect(index.contours > 1_000)
    }

    /// Every fixture, in all four combinations, vertex for vertex, in OpenCV's order and hierarchy.
    @Test(arguments: fixtureNames)
    func matchesOpenCV(name: String) throws {
        // setup
        let (fixture, mask) = try TraceFixture.load(name)
        #expect(mask.width == fixture.width && mask.height == fixture.height)
        #expect(mask.foregroundCount == fixture.foreground)
        #expect(TraceFixture.checksum(mask) == fixture.checksum)
        for retrieval in ContourRetrieval.allCases {
            for approximation in ContourApproximation.allCases {
                // MUT
                let got = ContourTracer.trace(mask, retrieval: retrieval, approximation: approximation)
                // validate
                if let difference = contourDifference(got, fixture.expected(retrieval, approximation)) {
                    Issue.record("\(name) \(retrieval) \(approximation): \(difference)")
                }
            }
        }
    }

    /// Any non-zero byte is foreground, not only 255.
    @Test(arguments: ["blobs_1", "noise_50", "checker_1px", "necks"])
    func nonZeroValuesAreForeground(name: String) throws {
        let (fixture, mask) = try TraceFixture.load(name)
        var random = SplitMix64(state: 7)
        var varied = mask
        for i in varied.pixels.indices where varied.pixels[i] != 0 {
            varied.pixels[i] = UInt8(1 + random.below(255))
        }
        #expect(contourDifference(ContourTracer.trace(varied, retrieval: .tree), fixture.expected(.tree, .simple)) == nil)
    }

    @Test func emptyMasksHaveNoContours() throws {
        #expect(ContourTracer.trace(BinaryMask(width: 0, height: 0)).isEmpty)
        #expect(ContourTracer.trace(BinaryMask(width: 5, height: 0)).isEmpty)
        #expect(ContourTracer.trace(BinaryMask(width: 0, height: 5)).isEmpty)
        #expect(ContourTracer.trace(BinaryMask(width: 70, height: 3)).isEmpty)
    }

    @Test func documentedShapes() throws {
        // A single pixel is one vertex.
        var mask = BinaryMask(width: 5, height: 5)
        mask.set(x: 2, y: 2, true)
        #expect(ContourTracer.trace(mask, approximation: .none) == [Contour(points: [Point(2, 2)], isHole: false, parent: nil)])

        // A 1-pixel line of L pixels: out and back, 2(L - 1) vertices, 2 with SIMPLE.
        mask = BinaryMask(width: 9, height: 3)
        for x in 1...6 { mask.set(x: x, y: 1, true) }
        let line = ContourTracer.trace(mask, approximation: .none)
        #expect(line.count == 1 && line[0].points.count == 10)
        #expect(ContourTracer.trace(mask)[0].points == [Point(1, 1), Point(6, 1)])

        // A ring with a 1-pixel hole: the outer contour counter-clockwise from its first pixel,
        // then the hole as a 4-vertex diamond, clockwise from the pixel left of it.
        mask = BinaryMask(width: 5, height: 5)
        for y in 1...3 { for x in 1...3 where !(x == 2 && y == 2) { mask.set(x: x, y: y, true) } }
        let ring = ContourTracer.trace(mask, approximation: .none)
        #expect(ring.count == 2)
        #expect(ring[0].points == [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1)].map { Point($0.0, $0.1) })
        #expect(ring[1] == Contour(points: [Point(1, 2), Point(2, 1), Point(3, 2), Point(2, 3)], isHole: true, parent: 0))

        // Outside the mask is background: a full mask is one contour along its edge.
        let full = try BinaryMask(width: 3, height: 2, pixels: [UInt8](repeating: 9, count: 6))
        #expect(ContourTracer.trace(full) == [Contour(points: [Point(0, 0), Point(0, 1), Point(2, 1), Point(2, 0)], isHole: false, parent: nil)])
    }

    /// An island in a hole is top-level with CCOMP and the hole's child with TREE.
    @Test func islandInHole() throws {
        var mask = BinaryMask(width: 7, height: 7)
        for y in 1...5 { for x in 1...5 where !(2...4).contains(x) || !(2...4).contains(y) { mask.set(x: x, y: y, true) } }
        mask.set(x: 3, y: 3, true)
        let ccomp = ContourTracer.trace(mask, retrieval: .ccomp)
        #expect(ccomp.map(\.points.first) == [Point(3, 3), Point(1, 1), Point(1, 2)])
        #expect(ccomp.map(\.parent) == [nil, nil, 1])
        let tree = ContourTracer.trace(mask, retrieval: .tree)
        #expect(tree.map(\.points.first) == [Point(1, 1), Point(1, 2), Point(3, 3)])
        #expect(tree.map(\.parent) == [nil, 0, 1])
        #expect(tree.map(\.isHole) == [false, true, false])
    }

    /// A one-pixel checkerboard: one component and a 1-pixel hole at every interior background
    /// pixel. OpenCV's own hierarchy search is quadratic here; ours must stay linear (the size
    /// keeps debug builds quick: speed is measured elsewhere, never by a test).
    @Test func checkerboardHoles() {
        let n = 128
        var mask = BinaryMask(width: n, height: n)
        for y in 0..<n { for x in 0..<n where (x + y) % 2 == 0 { mask.set(x: x, y: y, true) } }
        let contours = ContourTracer.trace(mask)
        let interiorBackground = (n - 2) * (n - 2) / 2
        #expect(contours.count == 1 + interiorBackground)
        #expect(!contours[0].isHole)
        #expect(contours.dropFirst().allSatisfy { $0.isHole && $0.parent == 0 && $0.points.count == 4 })
        #expect(
            zip(contours.dropFirst(), contours.dropFirst(2)).allSatisfy { a, b in
                (a.points[0].y, a.points[0].x) > (b.points[0].y, b.points[0].x)
            })
    }

    /// Invariants on random masks that need no reference: both retrievals list the same borders,
    /// SIMPLE is NONE without straight-through vertices, steps are 8-neighbour moves, and an outer
    /// contour starts at its component's first pixel.
    @Test func randomMaskInvariants() throws {
        var random = SplitMix64(state: 2024)
        for _ in 0..<60 {
            let width = 1 + random.below(40)
            let height = 1 + random.below(40)
            let density = 1 + random.below(9)
            var mask = BinaryMask(width: width, height: height)
            for i in mask.pixels.indices where random.below(10) < density { mask.pixels[i] = 255 }

            let none = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .none)
            let simple = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .simple)
            let tree = ContourTracer.trace(mask, retrieval: .tree, approximation: .none)
            #expect(none.count == simple.count)
            #expect(Set(none.map(\.points)) == Set(tree.map(\.points)))
            let firstPixels = FloodFill.componentFirstPixels(mask)
            for (c, s) in zip(none, simple) {
                let p = c.points
                let n = p.count
                let steps = (0..<n).map { (p[($0 + 1) % n].x - p[$0].x, p[($0 + 1) % n].y - p[$0].y) }
                #expect(n == 1 || steps.allSatisfy { max(abs($0.0), abs($0.1)) == 1 })
                let kept = (0..<n).filter { n == 1 || steps[($0 + n - 1) % n] != steps[$0] }.map { p[$0] }
                #expect(s.points == kept)
                #expect(s.parent == c.parent && s.isHole == c.isHole)
                #expect(c.isHole == (c.parent != nil))
                if !c.isHole { #expect(firstPixels.contains(p[0])) }
            }
            #expect(Set(none.filter { !$0.isHole }.map { $0.points[0] }) == firstPixels)
        }
    }
}
