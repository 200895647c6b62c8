import Foundation

/// A tensor sent to or received from an inference server, its elements held as `Float`.
///
/// Inputs are sent as `FP32`. Outputs of the types segmentation models give (`FP32`, `FP64`, `INT64`, `INT32`,
/// `UINT8`, `BOOL`) are converted to `Float` on arrival; ``datatype`` keeps what the server said.
public struct InferenceTensor: Sendable, Equatable {
    /// Its name in the model's metadata.
    public var name: String
    /// Its dimensions; their product is `values.count`.
    public var shape: [Int]
    /// The element type as the protocol names it (`FP32`, …).
    public var datatype: String
    /// The elements, row-major (last dimension fastest).
    public var values: [Float]

    /// A tensor of `values` with `shape`.
    public init(name: String, shape: [Int], datatype: String = "FP32", values: [Float]) {
        self.name = name
        self.shape = shape
        self.datatype = datatype
        self.values = values
    }
}

/// The JSON and binary encodings of the v2 REST protocol's infer request and response.
enum InferenceWire {
    /// The request body and, with `binary`, the length of its JSON header.
    static func request(id: String, inputs: [InferenceTensor], outputs: [String], binary: Bool) -> (Data, Int?) {
        guard binary else { return (jsonRequest(id: id, inputs: inputs, outputs: outputs), nil) }
        var header: [String: Any] = ["id": id]
        header["inputs"] = inputs.map { tensor -> [String: Any] in
            ["name": tensor.name, "shape": tensor.shape, "datatype": "FP32", "parameters": ["binary_data_size": tensor.values.count * 4]]
        }
        header["outputs"] = outputs.map { name -> [String: Any] in ["name": name, "parameters": ["binary_data": true]] }
        // Only numbers, strings, arrays and dictionaries: serialisation cannot fail.
        let json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data()
        var body = json
        body.reserveCapacity(json.count + inputs.reduce(0) { $0 + $1.values.count * 4 })
        for tensor in inputs {
            #if _endian(little)
            // The protocol's byte order is the host's: the floats' memory is the wire format.
            tensor.values.withUnsafeBytes { body.append(contentsOf: $0) }
            #else
            for value in tensor.values {
                var bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { body.append(contentsOf: $0) }
            }
            #endif
        }
        return (body, json.count)
    }

    /// A request with JSON tensors, written directly: each element as its shortest decimal form (which reads back as
    /// the same float32), a non-finite one as 0. `JSONSerialization` took about 100 ms for a 256×256 input.
    static func jsonRequest(id: String, inputs: [InferenceTensor], outputs: [String]) -> Data {
        var out: [UInt8] = []
        out.reserveCapacity(64 + inputs.reduce(0) { $0 + $1.values.count * 12 })
        func append(_ text: String) { out.append(contentsOf: text.utf8) }
        append(#"{"id":\#(quoted(id)),"inputs":["#)
        for (i, tensor) in inputs.enumerated() {
            if i > 0 { append(",") }
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            append(#"{"name":\#(quoted(tensor.name)),"shape":[\#(shape)],"datatype":"FP32","data":["#)
            for (j, value) in tensor.values.enumerated() {
                if j > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: (value.isFinite ? value : 0).description.utf8)
            }
            append("]}")
        }
        append(#"],"outputs":[\#(outputs.map { #"{"name":\#(quoted($0))}"# }.joined(separator: ","))]}"#)
        return Data(out)
    }

    /// `text` as a JSON string.
    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The output tensors of an infer response (`headerLength` from `Inference-Header-Content-Length`, if binary).
    static func response(_ body: Data, headerLength: Int?) throws(InferenceError) -> [InferenceTensor] {
        let jsonEnd = headerLength ?? body.count
        guard jsonEnd >= 0, jsonEnd <= body.count else {
            throw .invalidResponse("Inference-Header-Content-Length \(jsonEnd) is past the end of a \(body.count)-byte answer")
        }
        let header: WireResponse
        do {
            header = try JSONDecoder().decode(WireResponse.self, from: body.prefix(jsonEnd))
        } catch let error as InferenceError {
            throw error
        } catch DecodingError.keyNotFound(let key, let context) where key.stringValue == "outputs" && context.codingPath.isEmpty {
            throw .invalidResponse("the infer response has no \"outputs\"")
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw .invalidResponse("the infer response is not JSON")
        } catch {
            throw .invalidResponse("the infer response does not have the v2 form: \(error)")
        }
        var offset = body.startIndex + jsonEnd
        var tensors: [InferenceTensor] = []
        for output in header.outputs {
            guard let name = output.name, let datatype = output.datatype, let shape = output.shape else {
                throw .invalidResponse("an output lacks its name, datatype or shape")
            }
            guard shape.allSatisfy({ $0 >= 0 }), let count = Self.elementCount(shape) else {
                throw .invalidResponse("output \"\(name)\" has the impossible shape \(shape)")
            }
            let values: [Float]
            if let size = output.parameters?.binarySize {
                guard let width = Self.byteWidth(datatype) else {
                    throw .invalidResponse("output \"\(name)\" has the unsupported datatype \(datatype)")
                }
                guard size == count * width, size <= body.endIndex - offset else {
                    throw .invalidResponse("output \"\(name)\": \(size) bytes do not hold \(shape) \(datatype) or run past the answer")
                }
                values = Self.decode(body[offset..<(offset + size)], datatype: datatype, count: count)
                offset += size
            } else if let data = output.data {
                guard let flat = data.values else { throw .invalidResponse("output \"\(name)\" has a non-numeric element") }
                values = flat
            } else {
                throw .invalidResponse("output \"\(name)\" has neither data nor binary_data_size")
            }
            guard values.count == count else {
                throw .invalidResponse("output \"\(name)\" has \(values.count) values for the shape \(shape)")
            }
            tensors.append(InferenceTensor(name: name, shape: shape, datatype: datatype, values: values))
        }
        return tensors
    }

    /// The JSON part of an infer response, as far as it is read.
    struct WireResponse: Decodable {
        var outputs: [Output]

        struct Output: Decodable {
            var name: String?
            var datatype: String?
            var shape: [Int]?
            var parameters: Parameters?
            var data: Elements?
        }

        struct Parameters: Decodable {
            var binarySize: Int?

            enum CodingKeys: String, CodingKey { case binarySize = "binary_data_size" }
        }
    }

    /// A JSON `data` array, flat or nested, as floats (booleans as 0 and 1); `values` is nil when an element is neither.
    struct Elements: Decodable {
        var values: [Float]?

        init(from decoder: any Decoder) throws {
            // The usual case, a flat array of numbers, in one call; anything else element by element.
            if let flat = try? decoder.singleValueContainer().decode([Float].self) {
                values = flat
                return
            }
            var values: [Float] = []
            var container = try decoder.unkeyedContainer()
            guard try Self.append(&container, to: &values) else {
                self.values = nil
                return
            }
            self.values = values
        }

        private static func append(_ container: inout any UnkeyedDecodingContainer, to values: inout [Float]) throws -> Bool {
            while !container.isAtEnd {
                if let number = try? container.decode(Float.self) {
                    values.append(number)
                } else if let flag = try? container.decode(Bool.self) {
                    values.append(flag ? 1 : 0)
                } else if var nested = try? container.nestedUnkeyedContainer() {
                    guard try append(&nested, to: &values) else { return false }
                } else {
                    return false
                }
            }
            return true
        }
    }

    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= 1 << 31 else { return nil }
            count = product
        }
        return count
    }

    static func byteWidth(_ datatype: String) -> Int? {
        switch datatype {
        case "FP32", "INT32": 4
        case "FP64", "INT64": 8
        case "UINT8", "BOOL": 1
        default: nil
        }
    }

    /// Little-endian elements of `datatype` as floats.
    static func decode(_ bytes: Data, datatype: String, count: Int) -> [Float] {
        bytes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                for i in 0..<count {
                    switch datatype {
                    case "FP32": out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    case "INT32": out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                    case "FP64": out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
                    case "INT64": out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
                    default: out[i] = Float(raw[i])  // UINT8, BOOL
                    }
                }
                initialized = count
            }
        }
    }
}
