extension SegmenterParameters.Threshold: Codable {
    /// Decodes `"otsu"`, `"triangle"` or an integer 0–255.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let name = try? c.decode(String.self) {
            switch name {
            case "otsu": self = .otsu
            case "triangle": self = .triangle
            default:
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "threshold must be \"otsu\", \"triangle\" or an integer 0–255, got \"\(name)\"")
            }
            return
        }
        guard let value = try? c.decode(Int.self), (0...255).contains(value) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "threshold must be \"otsu\", \"triangle\" or an integer 0–255")
        }
        self = .fixed(UInt8(value))
    }

    /// Encodes as `"otsu"`, `"triangle"` or the integer value.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .otsu: try c.encode("otsu")
        case .triangle: try c.encode("triangle")
        case .fixed(let value): try c.encode(Int(value))
        }
    }
}

extension SegmenterParameters: Codable {
    enum CodingKeys: String, CodingKey {
        case threshold, polarity, sigma, background, openingRadius, closingRadius, minArea, fillHoles, removeBorderObjects, scale
    }

    /// Decodes leniently: a missing key takes its default, unknown keys are ignored, and an
    /// out-of-range value throws `DecodingError.dataCorrupted` naming the key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SegmenterParameters()
        self.init(
            threshold: try c.decodeIfPresent(Threshold.self, forKey: .threshold) ?? d.threshold,
            polarity: try c.decodeIfPresent(Polarity.self, forKey: .polarity) ?? d.polarity,
            sigma: try c.decodeIfPresent(Double.self, forKey: .sigma) ?? d.sigma,
            background: try c.decodeIfPresent(BackgroundCorrection.self, forKey: .background) ?? d.background,
            openingRadius: try c.decodeIfPresent(Int.self, forKey: .openingRadius) ?? d.openingRadius,
            closingRadius: try c.decodeIfPresent(Int.self, forKey: .closingRadius) ?? d.closingRadius,
            minArea: try c.decodeIfPresent(Double.self, forKey: .minArea) ?? d.minArea,
            fillHoles: try c.decodeIfPresent(Bool.self, forKey: .fillHoles) ?? d.fillHoles,
            removeBorderObjects: try c.decodeIfPresent(Bool.self, forKey: .removeBorderObjects) ?? d.removeBorderObjects,
            scale: try c.decodeIfPresent(Double.self, forKey: .scale))
        if let problem {
            let key: CodingKeys =
                problem.hasPrefix("sigma")
                ? .sigma
                : problem.hasPrefix("openingRadius")
                    ? .openingRadius
                    : problem.hasPrefix("closingRadius")
                        ? .closingRadius
                        : problem.hasPrefix("minArea") ? .minArea : .scale
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: problem)
        }
    }

    /// Encodes every key; `scale` only when set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(polarity, forKey: .polarity)
        try c.encode(sigma, forKey: .sigma)
        try c.encode(background, forKey: .background)
        try c.encode(openingRadius, forKey: .openingRadius)
        try c.encode(closingRadius, forKey: .closingRadius)
        try c.encode(minArea, forKey: .minArea)
        try c.encode(fillHoles, forKey: .fillHoles)
        try c.encode(removeBorderObjects, forKey: .removeBorderObjects)
        try c.encodeIfPresent(scale, forKey: .scale)
    }
}
