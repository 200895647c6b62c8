import Testing

@testable import SegCore

@Suite struct ImageLimitsTests {
    @Test func acceptsImagesWithinLimits() throws {
        try ImageLimits.default.check(width: 10_000, height: 10_000)
    }

    @Test(arguments: [(40_001, 1), (1, 40_001), (20_000, 5_001), (Int.max, Int.max)])
    func rejectsImagesOverLimits(width: Int, height: Int) {
        #expect(throws: SegCoreError.self) { try ImageLimits.default.check(width: width, height: height) }
    }
}
