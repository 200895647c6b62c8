import Foundation
import SegCore
import Testing

@testable import SegInference

@Suite struct InferenceWireTests {
    @Test func aBinaryRequestIsTheJSONHeaderThenLittleEndianFloats() throws {
        let tensor = InferenceTensor(name: "input", shape: [1, 1, 1, 2], values: [1.0, -2.5])
        let (body, headerLength) = InferenceWire.request(id: "r1", inputs: [tensor], outputs: ["logits"], binary: true)
        let length = try #require(headerLength)
        let header = try #require(try JSONSerialization.jsonObject(with: body.prefix(length)) as? [String: Any])
        let input = try #require((header["inputs"] as? [[String: Any]])?.first)
        #expect(input["name"] as? String == "input")
        #expect(input["datatype"] as? String == "FP32")
        #expect((input["parameters"] as? [String: Any])?["binary_data_size"] as? Int == 8)
        #expect(input["data"] == nil)
        let output = try #require((header["outputs"] as? [[String: Any]])?.first)
        #expect((output["parameters"] as? [String: Any])?["binary_data"] as? Bool == true)
        // 1.0 = 0x3F800000, −2.5 = 0xC0200000, least significant byte first.
        #expect(Array(body.suffix(8)) == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0])
        #expect(body.count == length + 8)
    }

    @Test func aJSONRequestCarriesTheValues() throws {
        let tensor = InferenceTensor(name: "x", shape: [2], values: [0.25, 3])
        let (body, headerLength) = InferenceWire.request(id: "r2", inputs: [tensor], outputs: ["y"], binary: false)
        #expect(headerLength == nil)
        let header = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        let input = try #require((header["inputs"] as? [[String: Any]])?.first)
        #expect(input["data"] as? [Double] == [0.25, 3])
        #expect((header["outputs"] as? [[String: Any]])?.first?["parameters"] == nil)
    }

    @Test func jsonElementsReadBackAsTheSameFloatsAndNamesAreEscaped() throws {
        let values: [Float] = [0.1, -1e-7, 3.4028235e38, Float.leastNonzeroMagnitude, 1 / 3, .nan, -.infinity]
        let tensor = InferenceTensor(name: #"in"put"#, shape: [1, 7], values: values)
        let (body, _) = InferenceWire.request(id: "r\\3", inputs: [tensor], outputs: ["y"], binary: false)
        let header = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
        #expect(header["id"] as? String == "r\\3")
        let input = try #require((header["inputs"] as? [[String: Any]])?.first)
        #expect(input["name"] as? String == #"in"put"#)
        #expect(input["shape"] as? [Int] == [1, 7])
        // Read as a server does (double, then float32); non-finite elements are sent as 0.
        let read = try #require(input["data"] as? [Double]).map { Float($0) }
        #expect(read.map(\.bitPattern) == (values.prefix(5) + [0, 0]).map(\.bitPattern))
    }

    @Test func booleanAndNestedJSONOutputsAreNumbers() throws {
        let json = #"{"outputs":[{"name":"m","datatype":"BOOL","shape":[2,2],"data":[[true,false],[false,true]]}]}"#
        #expect(try InferenceWire.response(Data(json.utf8), headerLength: nil).first?.values == [1, 0, 0, 1])
    }

    @Test func responsesDecodeFromJSONAndBinaryAlike() throws {
        let json = #"{"model_name":"m","outputs":[{"name":"y","datatype":"FP32","shape":[1,2,2],"data":[[0.5,1],[-1,2]]}]}"#
        let fromJSON = try InferenceWire.response(Data(json.utf8), headerLength: nil)
        #expect(fromJSON == [InferenceTensor(name: "y", shape: [1, 2, 2], values: [0.5, 1, -1, 2])])

        let header =
            Data(#"{"outputs":[{"name":"y","datatype":"FP32","shape":[1,2,2],"parameters":{"binary_data_size":16}},"#.utf8)
            + Data(#"{"name":"c","datatype":"INT64","shape":[1],"parameters":{"binary_data_size":8}}]}"#.utf8)
        var body = header
        for value: Float in [0.5, 1, -1, 2] { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        withUnsafeBytes(of: Int64(7).littleEndian) { body.append(contentsOf: $0) }
        let fromBinary = try InferenceWire.response(body, headerLength: header.count)
        #expect(fromBinary.first == fromJSON.first)
        #expect(fromBinary.last == InferenceTensor(name: "c", shape: [1], datatype: "INT64", values: [7]))
    }

    @Test func brokenResponsesAreInvalidNotCrashes() {
        let cases: [(String, Data, Int?)] = [
            ("not JSON", Data("<html>".utf8), nil),
            ("no outputs", Data(#"{"model_name":"m"}"#.utf8), nil),
            ("short data", Data(#"{"outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[1,2]}]}"#.utf8), nil),
            ("negative shape", Data(#"{"outputs":[{"name":"y","datatype":"FP32","shape":[-1],"data":[]}]}"#.utf8), nil),
            ("header past the end", Data("{}".utf8), 99),
            (
                "binary past the end",
                Data(#"{"outputs":[{"name":"y","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":16}}]}"#.utf8), 84
            ),
            ("strings", Data(#"{"outputs":[{"name":"y","datatype":"BYTES","shape":[1],"data":["a"]}]}"#.utf8), nil),
        ]
        for (label, body, length) in cases {
            #expect(throws: InferenceError.self, "\(label)") { try InferenceWire.response(body, headerLength: length) }
        }
        #expect(throws: InferenceError.invalidResponse("the infer response is not JSON")) {
            try InferenceWire.response(Data("<html>".utf8), headerLength: nil)
        }
        #expect(throws: InferenceError.invalidResponse("the infer response has no \"outputs\"")) {
            try InferenceWire.response(Data(#"{"model_name":"m"}"#.utf8), headerLength: nil)
        }
        #expect(throws: InferenceError.invalidResponse("output \"y\" has a non-numeric element")) {
            try InferenceWire.response(cases[6].1, headerLength: nil)
        }
    }

    @Test func statusCodesMapToWhatARetryCanFix() {
        #expect(throws: InferenceError.unavailable("the inference server answered 503: busy")) {
            try InferenceClient.check(503, Data(#"{"error":"busy"}"#.utf8))
        }
        #expect(throws: InferenceError.rejected("the inference server answered 400: bad shape")) {
            try InferenceClient.check(400, Data(#"{"error":"bad shape"}"#.utf8))
        }
        #expect(throws: Never.self) { try InferenceClient.check(200, Data()) }
    }
}

@Suite struct ModelPreparationTests {
    static func input(
        layout: ModelDescriptor.Layout = .nchw, channels: ModelDescriptor.Channels = .gray, size: ModelDescriptor.Size
    )
        -> ModelDescriptor.Input
    {
        ModelDescriptor.Input(name: "input", layout: layout, channels: channels, size: size, multipleOf: 4, mean: [0.5], std: [0.25])
    }

    @Test func grayPixelsAreScaledThenNormalised() throws {
        let image = AnyGrayImage.uint8(try GrayImage(width: 2, height: 1, pixels: [0, 255]))
        let prepared = ModelInput.prepare(image, for: Self.input(size: .fixed(width: 2, height: 1)))
        #expect(prepared.tensor.shape == [1, 1, 1, 2])
        #expect(prepared.tensor.values == [-2, 2])  // (0 − 0.5) / 0.25, (1 − 0.5) / 0.25
        // 16-bit images are stretched from their darkest to their brightest sample (12-bit data in a 16-bit file).
        let wide = AnyGrayImage.uint16(try GrayImage16(width: 2, height: 1, pixels: [100, 4095]))
        #expect(ModelInput.prepare(wide, for: Self.input(size: .fixed(width: 2, height: 1))).tensor.values == [-2, 2])
    }

    @Test func rgbRepeatsTheGrayPlaneInTheLayoutsOrder() throws {
        let image = AnyGrayImage.uint8(try GrayImage(width: 2, height: 1, pixels: [0, 255]))
        let nchw = ModelInput.prepare(image, for: Self.input(channels: .rgb, size: .fixed(width: 2, height: 1)))
        #expect(nchw.tensor.shape == [1, 3, 1, 2] && nchw.tensor.values == [-2, 2, -2, 2, -2, 2])
        let nhwc = ModelInput.prepare(image, for: Self.input(layout: .nhwc, channels: .rgb, size: .fixed(width: 2, height: 1)))
        #expect(nhwc.tensor.shape == [1, 1, 2, 3] && nhwc.tensor.values == [-2, -2, -2, 2, 2, 2])
    }

    @Test func theImagesOwnSizeIsPaddedToTheMultipleAndCroppedBack() throws {
        let image = AnyGrayImage.uint8(try GrayImage(width: 5, height: 3, pixels: (0..<15).map { UInt8($0 * 10) }))
        let prepared = ModelInput.prepare(image, for: Self.input(size: .image))
        #expect(prepared.size == (8, 4) && prepared.padding == (3, 1))
        #expect(prepared.tensor.shape == [1, 1, 4, 8])
        // The last column and row repeat.
        let last = (Float(140) / 255 - 0.5) / 0.25
        #expect(prepared.tensor.values[4 * 8 - 1] == last)
        let map = try ProbabilityMap(width: 8, height: 4, values: (0..<32).map(Float.init))
        let cropped = map.cropped(width: 5, height: 3)
        #expect(cropped.width == 5 && cropped.height == 3 && cropped.values[5] == 8)
    }

    @Test func outputsBecomeProbabilities() throws {
        var model = ModelDescriptor(
            name: "m", server: try #require(URL(string: "http://a:1")), model: "m", input: Self.input(size: .fixed(width: 2, height: 1)),
            output: .init(name: "y", kind: .logits))
        let logits = InferenceTensor(name: "y", shape: [1, 1, 1, 2], values: [0, 2])
        let map = try ModelOutput.probabilities(logits, model: model, expected: (2, 1))
        #expect(map.values[0] == 0.5 && abs(map.values[1] - 0.880797) < 1e-5)

        model.output = .init(name: "y", kind: .classes, foregroundClass: 2)
        let scores = InferenceTensor(name: "y", shape: [1, 3, 1, 2], values: [5, 0, 1, 0, 2, 9])
        #expect(try ModelOutput.probabilities(scores, model: model, expected: (2, 1)).values == [0, 1])

        model.output = .init(name: "y", kind: .probability)
        #expect(throws: InferenceError.self) {
            try ModelOutput.probabilities(scores, model: model, expected: (2, 1))  // three channels
        }
        #expect(throws: InferenceError.self) {
            try ModelOutput.probabilities(InferenceTensor(name: "y", shape: [2, 2, 2, 2, 2], values: []), model: model, expected: (2, 1))
        }
    }
}
