extension SegmenterParameters.Threshold: Codable {
    /// Decodes `"otsu"`, `"triangle"`, `"li"` or a finite number (the level in sample units).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let name = try? c.decode(String.self) {
            switch name {
            case "otsu": self = .otsu
            case "triangle": self = .triangle
            case "li": self = .li
            default:
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "threshold must be \"otsu\", \"triangle\", \"li\" or a number, got \"\(name)\"")
            }
            return
        }
        guard (try? c.decode(Bool.self)) == nil, let value = try? c.decode(Double.self), value.isFinite else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "threshold must be \"otsu\", \"triangle\", \"li\" or a number in the image's sample units")
        }
        self = .fixed(value)
    }

    /// Encodes as `"otsu"`, `"triangle"`, `"li"` or the number (whole numbers without a fraction).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .otsu: try c.encode("otsu")
        case .triangle: try c.encode("triangle")
        case .li: try c.encode("li")
        case .fixed(let value):
            if value == value.rounded(), abs(value) < 1e15 { try c.encode(Int64(value)) } else { try c.encode(value) }
        }
    }
}

extension SegmenterParameters: Codable {
    /// Every key the JSON form may have (the plane keys and `scale` only appear when set).
    public static let jsonKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))

    enum CodingKeys: String, CodingKey, CaseIterable {
        case preset, threshold, polarity, sigma, background, openingRadius, closingRadius, minArea, fillHoles, removeBorderObjects
        case declump, scale, page, channel, z, t
    }

    /// Decodes leniently: `preset` (default `spheroid`) gives every value, the keys present override
    /// them, unknown keys are ignored, and an out-of-range value throws `DecodingError.dataCorrupted`
    /// naming the key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let preset = try c.decodeIfPresent(Preset.self, forKey: .preset) ?? .spheroid
        let d = preset.parameters
        self.init(
            preset: preset,
            threshold: try c.decodeIfPresent(Threshold.self, forKey: .threshold) ?? d.threshold,
            polarity: try c.decodeIfPresent(Polarity.self, forKey: .polarity) ?? d.polarity,
            sigma: try c.decodeIfPresent(Double.self, forKey: .sigma) ?? d.sigma,
            background: try c.decodeIfPresent(BackgroundCorrection.self, forKey: .background) ?? d.background,
            openingRadius: try c.decodeIfPresent(Int.self, forKey: .openingRadius) ?? d.openingRadius,
            closingRadius: try c.decodeIfPresent(Int.self, forKey: .closingRadius) ?? d.closingRadius,
            minArea: try c.decodeIfPresent(Double.self, forKey: .minArea) ?? d.minArea,
            fillHoles: try c.decodeIfPresent(Bool.self, forKey: .fillHoles) ?? d.fillHoles,
            removeBorderObjects: try c.decodeIfPresent(Bool.self, forKey: .removeBorderObjects) ?? d.removeBorderObjects,
            declump: try c.decodeIfPresent(Bool.self, forKey: .declump) ?? d.declump,
            scale: try c.decodeIfPresent(Double.self, forKey: .scale),
            selection: ImageSelection(
                page: try c.decodeIfPresent(Int.self, forKey: .page), channel: try c.decodeIfPresent(Int.self, forKey: .channel),
                z: try c.decodeIfPresent(Int.self, forKey: .z), t: try c.decodeIfPresent(Int.self, forKey: .t)))
        if let problem {
            let key = CodingKeys(rawValue: problem.key) ?? .threshold
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: problem.message)
        }
    }

    /// Encodes every key; `scale` and the plane keys only when set.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(preset, forKey: .preset)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(polarity, forKey: .polarity)
        try c.encode(sigma, forKey: .sigma)
        try c.encode(background, forKey: .background)
        try c.encode(openingRadius, forKey: .openingRadius)
        try c.encode(closingRadius, forKey: .closingRadius)
        try c.encode(minArea, forKey: .minArea)
        try c.encode(fillHoles, forKey: .fillHoles)
        try c.encode(removeBorderObjects, forKey: .removeBorderObjects)
        try c.encode(declump, forKey: .declump)
        try c.encodeIfPresent(scale, forKey: .scale)
        try c.encodeIfPresent(selection.page, forKey: .page)
        try c.encodeIfPresent(selection.channel, forKey: .channel)
        try c.encodeIfPresent(selection.z, forKey: .z)
        try c.encodeIfPresent(selection.t, forKey: .t)
    }
}
