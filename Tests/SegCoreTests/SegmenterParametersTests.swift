import Foundation
import Testing

@testable import SegCore

@Suite struct SegmenterParametersTests {
    private func decode(_ json: String) throws -> SegmenterParameters {
        try JSONDecoder().decode(SegmenterParameters.self, from: Data(json.utf8))
    }

    @Test func emptyObjectGivesTheDocumentedDefaults() throws {
        let p = try decode("{}")
        #expect(p == SegmenterParameters())
        #expect(p.preset == .spheroid && p.threshold == .otsu && p.polarity == .auto && p.background == .divide)
        #expect(p.minArea == 50 && !p.fillHoles && !p.removeBorderObjects && !p.declump && p.scale == nil)
        #expect(p.sigma == 2 && p.openingRadius == 2 && p.closingRadius == 2)
        #expect(p.selection == .first)
    }

    @Test func presetGivesItsValuesAndExplicitKeysOverrideThem() throws {
        let nuclei = try decode(#"{"preset": "nuclei"}"#)
        #expect(nuclei == SegmenterParameters(preset: .nuclei))
        #expect(nuclei.threshold == .li && nuclei.declump && nuclei.fillHoles && nuclei.sigma == 1 && nuclei.background == .subtract)
        let tuned = try decode(#"{"preset": "nuclei", "declump": false, "sigma": 1.5}"#)
        #expect(tuned.preset == .nuclei && !tuned.declump && tuned.sigma == 1.5 && tuned.threshold == .li)
        #expect(throws: DecodingError.self) { try decode(#"{"preset": "cells"}"#) }
    }

    @Test(arguments: [
        ("\"otsu\"", SegmenterParameters.Threshold.otsu), ("\"triangle\"", .triangle), ("\"li\"", .li), ("0", .fixed(0)),
        ("128", .fixed(128)), ("33250", .fixed(33250)), ("12.5", .fixed(12.5)), ("-0.25", .fixed(-0.25)),
    ])
    func thresholdAcceptsNamesAndLevelsInSampleUnits(json: String, expected: SegmenterParameters.Threshold) throws {
        #expect(try decode("{\"threshold\": \(json)}").threshold == expected)
    }

    @Test func planeKeysChooseThePage() throws {
        #expect(try decode(#"{"page": 3}"#).selection == ImageSelection(page: 3))
        #expect(try decode(#"{"channel": 1, "z": 4}"#).selection == ImageSelection(channel: 1, z: 4))
        #expect(throws: DecodingError.self) { try decode(#"{"page": -1}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"page": 1, "z": 2}"#) }
    }

    @Test func decodesEveryKey() throws {
        let p = try decode(
            """
            {"threshold": 90, "polarity": "dark", "sigma": 1.5, "background": "subtract", "openingRadius": 1,
             "closingRadius": 3, "minArea": 10, "fillHoles": true, "removeBorderObjects": true, "scale": 0.65, "unknown": 1}
            """)
        #expect(
            p
                == SegmenterParameters(
                    threshold: .fixed(90), polarity: .dark, sigma: 1.5, background: .subtract, openingRadius: 1, closingRadius: 3,
                    minArea: 10, fillHoles: true, removeBorderObjects: true, scale: 0.65))
    }

    @Test(arguments: [
        "{\"threshold\": \"mean\"}", "{\"threshold\": true}", "{\"threshold\": [1]}",
        "{\"polarity\": \"up\"}", "{\"background\": \"blur\"}", "{\"sigma\": -2}", "{\"sigma\": 100}", "{\"minArea\": -1}",
        "{\"openingRadius\": -1}", "{\"closingRadius\": 1000}", "{\"scale\": 0}", "{\"fillHoles\": \"yes\"}",
    ])
    func invalidValuesThrowDecodingErrors(json: String) {
        #expect(throws: DecodingError.self) { try decode(json) }
    }

    @Test func invalidValueMessageNamesTheProblem() {
        do {
            _ = try decode("{\"threshold\": \"median\"}")
            Issue.record("decoded an out-of-range threshold")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("threshold"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(arguments: [
        SegmenterParameters(),
        SegmenterParameters(threshold: .fixed(17), polarity: .bright, sigma: 0, background: .none, minArea: 0, scale: 1.25),
        SegmenterParameters(threshold: .triangle, fillHoles: true, removeBorderObjects: true),
        SegmenterParameters(preset: .nuclei),
        SegmenterParameters(threshold: .fixed(33241.5), declump: true, selection: ImageSelection(channel: 1, z: 2, t: 0)),
    ])
    func roundTrips(parameters: SegmenterParameters) throws {
        let data = try JSONEncoder().encode(parameters)
        #expect(try JSONDecoder().decode(SegmenterParameters.self, from: data) == parameters)
    }

    @Test func encodesTheFriendlyShape() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(SegmenterParameters(threshold: .fixed(128))), as: UTF8.self)
        #expect(json.contains("\"threshold\":128"))
        #expect(json.contains("\"polarity\":\"auto\""))
        #expect(json.contains("\"minArea\":50"))
        #expect(!json.contains("scale"))
        let otsu = String(decoding: try encoder.encode(SegmenterParameters()), as: UTF8.self)
        #expect(otsu.contains("\"threshold\":\"otsu\""))
    }
}
