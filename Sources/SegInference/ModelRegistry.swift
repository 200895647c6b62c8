import Foundation

/// The segmentation models SegHub may call: read from a JSON file (`SEG_MODELS_FILE`, `segctl segment --models`).
///
/// A file that cannot be used is refused as a whole, with every problem listed, so that a server never starts with
/// half of its models:
///
/// ```json
/// {"models": [{
///   "name": "unet", "description": "…", "server": "http://127.0.0.1:8085", "model": "seghub-unet", "version": "1",
///   "input": {"name": "input", "datatype": "FP32", "layout": "NCHW", "channels": "gray",
///             "size": {"width": 256, "height": 256}, "mean": [0.5], "std": [0.25]},
///   "output": {"name": "logits", "kind": "logits"},
///   "threshold": 0.5, "minArea": 50, "holes": true
/// }]}
/// ```
///
/// ## Usage
/// ```swift
/// let registry = try ModelRegistry(contentsOf: URL(fileURLWithPath: path))
/// guard let unet = registry.model(named: "unet") else { … }
/// ```
public struct ModelRegistry: Sendable, Equatable {
    /// The models, in the file's order.
    public let models: [ModelDescriptor]

    /// A registry of `models`, checked as a file would be.
    /// - Throws: `ModelRegistryError` listing every problem.
    public init(models: [ModelDescriptor]) throws(ModelRegistryError) {
        let problems = Self.problems(of: models)
        guard problems.isEmpty else { throw ModelRegistryError(source: nil, problems: problems) }
        self.models = models
    }

    /// The registry in the JSON file at `url`.
    /// - Throws: `ModelRegistryError` naming the file and every problem in it.
    public init(contentsOf url: URL) throws(ModelRegistryError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelRegistryError(source: url.path, problems: ["cannot be read: \(error.localizedDescription)"])
        }
        do throws(ModelRegistryError) {
            self = try ModelRegistry(json: data)
        } catch {
            throw ModelRegistryError(source: url.path, problems: error.problems)
        }
    }

    /// The registry in `json` (a file's bytes).
    /// - Throws: `ModelRegistryError` with every problem.
    public init(json: Data) throws(ModelRegistryError) {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: json)
        } catch let error as DecodingError {
            throw ModelRegistryError(source: nil, problems: [Self.describe(error)])
        } catch {
            throw ModelRegistryError(source: nil, problems: ["is not a model registry: \(error)"])
        }
        // Entries that do not decode are reported with the problems of the ones that do.
        let problems = file.problems + Self.problems(of: file.models)
        guard problems.isEmpty else { throw ModelRegistryError(source: nil, problems: problems) }
        self.models = file.models
    }

    private static func problems(of models: [ModelDescriptor]) -> [String] {
        var problems: [String] = []
        var seen: Set<String> = []
        for model in models {
            problems += model.problems()
            if !seen.insert(model.name).inserted { problems.append("model \"\(model.name)\": the name is used twice") }
        }
        return problems
    }

    /// No models.
    public static let empty = ModelRegistry(unchecked: [])

    private init(unchecked models: [ModelDescriptor]) {
        self.models = models
    }

    /// The model called `name`, if any.
    public func model(named name: String) -> ModelDescriptor? {
        models.first { $0.name == name }
    }

    /// The file: each model decoded on its own, so that one bad entry does not hide the others' problems.
    private struct File: Decodable {
        var models: [ModelDescriptor] = []
        var problems: [String] = []

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            var list = try c.nestedUnkeyedContainer(forKey: .models)
            var index = 0
            while !list.isAtEnd {
                do {
                    models.append(try list.decode(ModelDescriptor.self))
                } catch let error as DecodingError {
                    problems.append("models[\(index)]: " + ModelRegistry.describe(error, relative: true))
                    _ = try list.decode(Skip.self)
                }
                index += 1
            }
        }

        private enum Keys: String, CodingKey {
            case models
        }

        private struct Skip: Decodable {
            init(from decoder: any Decoder) throws {}
        }
    }

    private static func describe(_ error: DecodingError, relative: Bool = false) -> String {
        func path(_ context: DecodingError.Context) -> String {
            // Inside one entry, the leading `models[i]` is already said.
            let keys = relative ? Array(context.codingPath.dropFirst(2)) : context.codingPath
            let parts = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return parts.isEmpty ? "the file" : String(parts.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context)
            return "\(at == "the file" ? "" : at + ": ")missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "is not valid JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "is not a model registry"
        }
    }
}

/// Why a model registry was refused: each problem on its own line, prefixed by the file when there is one.
public struct ModelRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, if the registry came from one.
    public var source: String?
    /// Every problem found.
    public var problems: [String]

    public var description: String {
        let head = source.map { "the model registry \($0)" } ?? "the model registry"
        return head + " cannot be used:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// One model: where it is served, what it takes and gives, and how its output becomes objects.
public struct ModelDescriptor: Sendable, Equatable, Codable {
    /// The name SegHub users pick it by (letters, digits, `-`, `_`, `.`; not `builtin`).
    public var name: String
    /// One line for people choosing a segmenter.
    public var description: String
    /// The inference server's base URL (`http://host:8000`); the v2 paths are added to it.
    public var server: URL
    /// The model's name on the server.
    public var model: String
    /// The model version on the server; `nil` for the server's choice.
    public var version: String?
    /// The input tensor.
    public var input: Input
    /// The output tensor and how to read it.
    public var output: Output
    /// Foreground where the probability is above this (0.05…0.95; default 0.5).
    public var threshold: Double
    /// Objects smaller than this many square pixels are dropped (default 50).
    public var minArea: Double
    /// Whether objects keep their holes (default true).
    public var holes: Bool
    /// Send and receive tensors as raw bytes (the binary tensor data extension) rather than JSON (default true).
    public var binary: Bool

    /// The input tensor: its name and type, and how an image is turned into it.
    public struct Input: Sendable, Equatable, Codable {
        /// The tensor's name in the model's metadata.
        public var name: String
        /// Its element type; `FP32` is what SegHub sends.
        public var datatype: String
        /// `NCHW` or `NHWC` (a batch of one).
        public var layout: Layout
        /// Gray (one channel) or RGB (the gray image repeated in three channels).
        public var channels: Channels
        /// A fixed size the image is resized to, or the image's own size (padded to `multipleOf`).
        public var size: Size
        /// With `size` `image`: the padded sides are multiples of this (a U-Net with four poolings needs 16).
        public var multipleOf: Int
        /// Per channel, subtracted from the 0…1 sample (one value for all channels, or one per channel).
        public var mean: [Double]
        /// Per channel, divided into the difference.
        public var std: [Double]

        public init(
            name: String, datatype: String = "FP32", layout: Layout = .nchw, channels: Channels = .gray, size: Size,
            multipleOf: Int = 1, mean: [Double] = [0], std: [Double] = [1]
        ) {
            self.name = name
            self.datatype = datatype
            self.layout = layout
            self.channels = channels
            self.size = size
            self.multipleOf = multipleOf
            self.mean = mean
            self.std = std
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            datatype = try c.decodeIfPresent(String.self, forKey: .datatype) ?? "FP32"
            layout = try c.decodeIfPresent(Layout.self, forKey: .layout) ?? .nchw
            channels = try c.decodeIfPresent(Channels.self, forKey: .channels) ?? .gray
            size = try c.decode(Size.self, forKey: .size)
            multipleOf = try c.decodeIfPresent(Int.self, forKey: .multipleOf) ?? 1
            mean = try c.decodeIfPresent([Double].self, forKey: .mean) ?? [0]
            std = try c.decodeIfPresent([Double].self, forKey: .std) ?? [1]
        }
    }

    /// Where the channel axis is.
    public enum Layout: String, Sendable, Equatable, Codable {
        case nchw = "NCHW"
        case nhwc = "NHWC"
    }

    /// How many channels the model reads.
    public enum Channels: String, Sendable, Equatable, Codable {
        case gray
        case rgb

        /// 1 or 3.
        public var count: Int { self == .gray ? 1 : 3 }
    }

    /// The size of the input tensor.
    public enum Size: Sendable, Equatable, Codable {
        /// Every image is resized to this (as the previous system resized to 1024×1024).
        case fixed(width: Int, height: Int)
        /// The image's own size, padded at the right and bottom to `Input.multipleOf`.
        case image

        public init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                guard text == "image" else {
                    throw DecodingError.dataCorrupted(
                        .init(codingPath: decoder.codingPath, debugDescription: "\"\(text)\" is not \"image\" or {\"width\", \"height\"}"))
                }
                self = .image
                return
            }
            let c = try decoder.container(keyedBy: Keys.self)
            self = .fixed(width: try c.decode(Int.self, forKey: .width), height: try c.decode(Int.self, forKey: .height))
        }

        public func encode(to encoder: any Encoder) throws {
            switch self {
            case .image:
                var c = encoder.singleValueContainer()
                try c.encode("image")
            case .fixed(let width, let height):
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(width, forKey: .width)
                try c.encode(height, forKey: .height)
            }
        }

        private enum Keys: String, CodingKey {
            case width, height
        }
    }

    /// The output tensor and what its values mean.
    public struct Output: Sendable, Equatable, Codable {
        /// The tensor's name in the model's metadata.
        public var name: String
        /// Probabilities (used as they are), logits (a sigmoid makes them probabilities) or class scores.
        public var kind: Kind
        /// With `classes`: the class that is foreground (the others are background).
        public var foregroundClass: Int?

        public enum Kind: String, Sendable, Equatable, Codable {
            case probability
            case logits
            case classes
        }

        public init(name: String, kind: Kind, foregroundClass: Int? = nil) {
            self.name = name
            self.kind = kind
            self.foregroundClass = foregroundClass
        }

        private enum CodingKeys: String, CodingKey {
            case name, kind
            case foregroundClass = "class"
        }
    }

    public init(
        name: String, description: String = "", server: URL, model: String, version: String? = nil, input: Input, output: Output,
        threshold: Double = 0.5, minArea: Double = 50, holes: Bool = true, binary: Bool = true
    ) {
        self.name = name
        self.description = description
        self.server = server
        self.model = model
        self.version = version
        self.input = input
        self.output = output
        self.threshold = threshold
        self.minArea = minArea
        self.holes = holes
        self.binary = binary
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        server = try c.decode(URL.self, forKey: .server)
        model = try c.decode(String.self, forKey: .model)
        version = try c.decodeIfPresent(String.self, forKey: .version)
        input = try c.decode(Input.self, forKey: .input)
        output = try c.decode(Output.self, forKey: .output)
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? 0.5
        minArea = try c.decodeIfPresent(Double.self, forKey: .minArea) ?? 50
        holes = try c.decodeIfPresent(Bool.self, forKey: .holes) ?? true
        binary = try c.decodeIfPresent(Bool.self, forKey: .binary) ?? true
    }

    /// What is wrong with this model's entry, each problem prefixed by its name.
    func problems() -> [String] {
        var found: [String] = []
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        if name.isEmpty || name.count > 64 || !name.allSatisfy(allowed.contains) {
            found.append("the name must be 1–64 letters, digits, \"-\", \"_\" or \".\"")
        }
        if name == "builtin" { found.append("\"builtin\" is the built-in segmenter's name") }
        if !["http", "https"].contains(server.scheme?.lowercased() ?? "") || server.host?.isEmpty != false {
            found.append("server \"\(server.absoluteString)\" is not an http(s) URL with a host")
        }
        if model.isEmpty { found.append("the remote model name is empty") }
        if input.name.isEmpty { found.append("input.name is empty") }
        if output.name.isEmpty { found.append("output.name is empty") }
        if input.datatype != "FP32" { found.append("input.datatype \"\(input.datatype)\" is not supported (FP32 is)") }
        if case .fixed(let width, let height) = input.size, !(1...8192).contains(width) || !(1...8192).contains(height) {
            found.append("input.size \(width)×\(height) is outside 1…8192")
        }
        if !(1...1024).contains(input.multipleOf) { found.append("input.multipleOf must be 1…1024") }
        let channels = input.channels.count
        if input.mean.count != 1 && input.mean.count != channels {
            found.append("input.mean needs 1 or \(channels) values")
        }
        if input.std.count != 1 && input.std.count != channels { found.append("input.std needs 1 or \(channels) values") }
        if input.std.contains(where: { !$0.isFinite || $0 == 0 }) { found.append("input.std values must be finite and non-zero") }
        if input.mean.contains(where: { !$0.isFinite }) { found.append("input.mean values must be finite") }
        if output.kind == .classes && (output.foregroundClass ?? -1) < 0 {
            found.append("output.class (the foreground class, 0 or more) is needed with kind \"classes\"")
        }
        if !(0.05...0.95).contains(threshold) { found.append("threshold \(threshold) is outside 0.05…0.95") }
        if !minArea.isFinite || minArea < 0 { found.append("minArea must be 0 or more") }
        let label = name.isEmpty ? "a model" : "model \"\(name)\""
        return found.map { "\(label): \($0)" }
    }
}
