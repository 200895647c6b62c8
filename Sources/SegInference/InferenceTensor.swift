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
        var header: [String: Any] = ["id": id]
        header["inputs"] = inputs.map { tensor -> [String: Any] in
            var entry: [String: Any] = ["name": tensor.name, "shape": tensor.shape, "datatype": "FP32"]
            if binary {
                entry["parameters"] = ["binary_data_size": tensor.values.count * 4]
            } else {
                entry["data"] = tensor.values.map { Double($0) }
            }
            return entry
        }
        header["outputs"] = outputs.map { name -> [String: Any] in
            binary ? ["name": name, "parameters": ["binary_data": true]] : ["name": name]
        }
        // Only numbers, strings, arrays and dictionaries: serialisation cannot fail.
        let json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data()
        guard binary else { return (json, nil) }
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

    /// The output tensors of an infer response (`headerLength` from `Inference-Header-Content-Length`, if binary).
    static func response(_ body: Data, headerLength: Int?) throws(InferenceError) -> [InferenceTensor] {
        let jsonEnd = headerLength ?? body.count
        guard jsonEnd >= 0, jsonEnd <= body.count else {
            throw .invalidResponse("Inference-Header-Content-Length \(jsonEnd) is past the end of a \(body.count)-byte answer")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: body.prefix(jsonEnd))
        } catch {
            throw .invalidResponse("the infer response is not JSON")
        }
        guard let header = object as? [String: Any], let outputs = header["outputs"] as? [[String: Any]] else {
            throw .invalidResponse("the infer response has no \"outputs\"")
        }
        var offset = body.startIndex + jsonEnd
        var tensors: [InferenceTensor] = []
        for output in outputs {
            guard let name = output["name"] as? String, let datatype = output["datatype"] as? String,
                let shape = (output["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue })
            else { throw .invalidResponse("an output lacks its name, datatype or shape") }
            guard shape.allSatisfy({ $0 >= 0 }), let count = Self.elementCount(shape) else {
                throw .invalidResponse("output \"\(name)\" has the impossible shape \(shape)")
            }
            let values: [Float]
            if let parameters = output["parameters"] as? [String: Any], let size = (parameters["binary_data_size"] as? NSNumber)?.intValue {
                guard let width = Self.byteWidth(datatype) else {
                    throw .invalidResponse("output \"\(name)\" has the unsupported datatype \(datatype)")
                }
                guard size == count * width, size <= body.endIndex - offset else {
                    throw .invalidResponse("output \"\(name)\": \(size) bytes do not hold \(shape) \(datatype) or run past the answer")
                }
                values = Self.decode(body[offset..<(offset + size)], datatype: datatype, count: count)
                offset += size
            } else if let data = output["data"] as? [Any] {
                values = try Self.flatten(data, name: name)
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

    /// A JSON `data` array, flat or nested, as floats (booleans as 0 and 1).
    static func flatten(_ data: [Any], name: String) throws(InferenceError) -> [Float] {
        var values: [Float] = []
        values.reserveCapacity(data.count)
        var stack: [[Any]] = [data]
        var positions: [Int] = [0]
        while let top = stack.last, let position = positions.last {
            if position == top.count {
                stack.removeLast()
                positions.removeLast()
                continue
            }
            positions[positions.count - 1] += 1
            let element = top[position]
            if let nested = element as? [Any] {
                stack.append(nested)
                positions.append(0)
            } else if let number = element as? NSNumber {
                values.append(number.floatValue)
            } else {
                throw .invalidResponse("output \"\(name)\" has a non-numeric element")
            }
        }
        return values
    }
}
