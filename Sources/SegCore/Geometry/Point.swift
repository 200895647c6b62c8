/// An integer pixel coordinate: origin top-left, x right, y down (as OpenCV reports contours).
public struct Point: Sendable, Hashable, Codable {
    /// Column.
    public var x: Int32
    /// Row.
    public var y: Int32

    /// Creates a point from 32-bit coordinates.
    @inlinable public init(x: Int32, y: Int32) {
        self.x = x
        self.y = y
    }

    /// Creates a point from `Int` coordinates (truncating to 32 bits; images are far smaller).
    @inlinable public init(_ x: Int, _ y: Int) {
        self.x = Int32(truncatingIfNeeded: x)
        self.y = Int32(truncatingIfNeeded: y)
    }

    /// Encodes as `[x, y]`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x)
        try c.encode(y)
    }

    /// Decodes from `[x, y]`.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        x = try c.decode(Int32.self)
        y = try c.decode(Int32.self)
    }
}

/// A real-valued 2-D point, used for polygons that people edit and for geometry results.
public struct Point2D: Sendable, Hashable, Codable {
    /// Horizontal coordinate (x right).
    public var x: Double
    /// Vertical coordinate (y down).
    public var y: Double

    /// Creates a point.
    @inlinable public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    /// Converts an integer pixel coordinate.
    @inlinable public init(_ p: Point) {
        self.x = Double(p.x)
        self.y = Double(p.y)
    }

    /// Encodes as `[x, y]`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x)
        try c.encode(y)
    }

    /// Decodes from `[x, y]`; both must be finite numbers.
    public init(from decoder: any Decoder) throws {
        var c = try decoder.unkeyedContainer()
        x = try c.decode(Double.self)
        y = try c.decode(Double.self)
        guard x.isFinite, y.isFinite else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "coordinates must be finite"))
        }
    }
}
