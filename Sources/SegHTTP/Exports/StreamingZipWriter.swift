import Foundation
import ZIPFoundation

/// Writes a ZIP file front to back: each entry once, the central directory once at the end.
///
/// ZIPFoundation's `Archive` rewrites the whole central directory with every entry it adds, which makes an archive
/// of *n* entries cost O(*n*²) (docs/benchmarks.md); an export has several entries per image. This writer keeps the
/// central directory in memory (about 100 bytes an entry) and writes it at the end, and uses ZIPFoundation only for
/// what it does well: deflate (`Data.compress`) and CRC-32. Archives are read back with ZIPFoundation in the tests.
///
/// - Names are stored as UTF-8 (general purpose flag bit 11).
/// - ZIP64 (PKWARE APPNOTE 4.5.3) is used where it is needed: for local header offsets and the central directory
///   beyond 4 GiB and for more than 65,535 entries. A single entry must stay under 4 GiB (an export's largest entries
///   are an original image or the COCO document).
/// - It is a class because it owns an open file; it is used by one task at a time (see `ExportArchiveBuilder`).
final class StreamingZipWriter {
    /// Where the ZIP goes.
    let url: URL
    private let handle: FileHandle
    private var offset: UInt64 = 0
    private var central: [UInt8] = []
    private var count = 0
    private var finished = false

    /// The largest offset or size written without ZIP64 (a 32-bit field holding this value means "see ZIP64").
    static let limit32: UInt64 = 0xFFFF_FFFF
    /// Above this many entries the end record needs ZIP64.
    static let limit16 = 0xFFFF
    static let chunk = 1 << 16

    /// Creates (or truncates) the file at `url`.
    init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ExportBuildError("cannot create the archive file")
        }
        self.url = url
        self.handle = try FileHandle(forWritingTo: url)
    }

    deinit {
        try? handle.close()
    }

    /// Adds an entry holding `data`, deflated or stored.
    func add(_ path: String, data: Data, compressed: Bool, date: Date) throws {
        let crc = data.crc32(checksum: 0)
        var body = Data()
        if compressed {
            _ = try Data.compress(
                size: Int64(data.count), bufferSize: Self.chunk,
                provider: { position, size in
                    data.subdata(in: Int(position)..<(Int(position) + size))
                }, consumer: { body.append($0) })
        } else {
            body = data
        }
        guard UInt64(data.count) < Self.limit32, UInt64(body.count) < Self.limit32 else {
            throw ExportBuildError("an entry of 4 GiB or more cannot be archived")
        }
        let start = offset
        try write(localHeader(path, compressed: compressed, date: date, crc: crc, compressedSize: UInt32(body.count), size: UInt32(data.count)))
        try write(body)
        record(path, compressed: compressed, date: date, crc: crc, compressedSize: UInt32(body.count), size: UInt32(data.count), at: start)
    }

    /// Adds an entry holding the file at `source`, read and deflated in chunks; the sizes and CRC are written into the
    /// local header afterwards.
    func add(_ path: String, file source: URL, compressed: Bool, date: Date) throws {
        let input = try FileHandle(forReadingFrom: source)
        defer { try? input.close() }
        let size = try input.seekToEnd()
        try input.seek(toOffset: 0)
        guard size < Self.limit32 else { throw ExportBuildError("an entry of 4 GiB or more cannot be archived") }
        let start = offset
        try write(localHeader(path, compressed: compressed, date: date, crc: 0, compressedSize: 0, size: 0))
        var written: UInt64 = 0
        var crc: CRC32 = 0
        if compressed {
            crc = try Data.compress(
                size: Int64(size), bufferSize: Self.chunk,
                provider: { _, chunk in
                    try input.read(upToCount: chunk) ?? Data()
                },
                consumer: { output in
                    try self.write(output)
                    written += UInt64(output.count)
                })
        } else {
            while let chunk = try input.read(upToCount: Self.chunk), !chunk.isEmpty {
                crc = chunk.crc32(checksum: crc)
                try write(chunk)
                written += UInt64(chunk.count)
            }
        }
        guard written < Self.limit32 else { throw ExportBuildError("an entry of 4 GiB or more cannot be archived") }
        // CRC-32, compressed size and size sit 14 bytes into the local header.
        var patch: [UInt8] = []
        Self.append32(crc, to: &patch)
        Self.append32(UInt32(written), to: &patch)
        Self.append32(UInt32(size), to: &patch)
        try handle.seek(toOffset: start + 14)
        try handle.write(contentsOf: patch)
        try handle.seek(toOffset: offset)
        record(path, compressed: compressed, date: date, crc: crc, compressedSize: UInt32(written), size: UInt32(size), at: start)
    }

    /// Writes the central directory and the end records, and closes the file.
    func finish() throws {
        guard !finished else { return }
        finished = true
        let directoryStart = offset
        try write(central)
        let directorySize = UInt64(central.count)
        central = []
        let needs64 = count > Self.limit16 || directoryStart >= Self.limit32 || directorySize >= Self.limit32
        var end: [UInt8] = []
        if needs64 {
            let record64 = offset
            Self.append32(0x0606_4B50, to: &end)  // ZIP64 end of central directory record
            Self.append64(44, to: &end)
            Self.append16(0x032D, to: &end)  // made by: UNIX, 4.5
            Self.append16(45, to: &end)
            Self.append32(0, to: &end)
            Self.append32(0, to: &end)
            Self.append64(UInt64(count), to: &end)
            Self.append64(UInt64(count), to: &end)
            Self.append64(directorySize, to: &end)
            Self.append64(directoryStart, to: &end)
            Self.append32(0x0706_4B50, to: &end)  // ZIP64 end of central directory locator
            Self.append32(0, to: &end)
            Self.append64(record64, to: &end)
            Self.append32(1, to: &end)
        }
        Self.append32(0x0605_4B50, to: &end)  // end of central directory record
        Self.append16(0, to: &end)
        Self.append16(0, to: &end)
        Self.append16(UInt16(min(count, Self.limit16)), to: &end)
        Self.append16(UInt16(min(count, Self.limit16)), to: &end)
        Self.append32(UInt32(min(directorySize, Self.limit32)), to: &end)
        Self.append32(UInt32(min(directoryStart, Self.limit32)), to: &end)
        Self.append16(0, to: &end)
        try write(end)
        try handle.synchronize()
        try handle.close()
    }

    // MARK: - Records

    private func localHeader(_ path: String, compressed: Bool, date: Date, crc: CRC32, compressedSize: UInt32, size: UInt32) -> [UInt8] {
        let name = Array(path.utf8)
        let (time, day) = Self.dosDateTime(date)
        var header: [UInt8] = []
        Self.append32(0x0403_4B50, to: &header)
        Self.append16(20, to: &header)
        Self.append16(0x0800, to: &header)
        Self.append16(compressed ? 8 : 0, to: &header)
        Self.append16(time, to: &header)
        Self.append16(day, to: &header)
        Self.append32(crc, to: &header)
        Self.append32(compressedSize, to: &header)
        Self.append32(size, to: &header)
        Self.append16(UInt16(name.count), to: &header)
        Self.append16(0, to: &header)
        header += name
        return header
    }

    private func record(_ path: String, compressed: Bool, date: Date, crc: CRC32, compressedSize: UInt32, size: UInt32, at start: UInt64) {
        let name = Array(path.utf8)
        let (time, day) = Self.dosDateTime(date)
        let far = start >= Self.limit32
        Self.append32(0x0201_4B50, to: &central)
        Self.append16(0x032D, to: &central)  // made by: UNIX, 4.5
        Self.append16(far ? 45 : 20, to: &central)
        Self.append16(0x0800, to: &central)
        Self.append16(compressed ? 8 : 0, to: &central)
        Self.append16(time, to: &central)
        Self.append16(day, to: &central)
        Self.append32(crc, to: &central)
        Self.append32(compressedSize, to: &central)
        Self.append32(size, to: &central)
        Self.append16(UInt16(name.count), to: &central)
        Self.append16(far ? 12 : 0, to: &central)
        Self.append16(0, to: &central)
        Self.append16(0, to: &central)
        Self.append16(0, to: &central)
        Self.append32(0o100644 << 16, to: &central)  // a regular file, rw-r--r--
        Self.append32(far ? UInt32(Self.limit32) : UInt32(start), to: &central)
        central += name
        if far {
            Self.append16(0x0001, to: &central)  // ZIP64 extra field: the local header's offset
            Self.append16(8, to: &central)
            Self.append64(start, to: &central)
        }
        count += 1
    }

    private func write(_ bytes: [UInt8]) throws {
        try handle.write(contentsOf: bytes)
        offset += UInt64(bytes.count)
    }

    private func write(_ data: Data) throws {
        try handle.write(contentsOf: data)
        offset += UInt64(data.count)
    }

    /// MS-DOS time and date of `date` in UTC (2-second resolution; years before 1980 become 1980).
    static func dosDateTime(_ date: Date) -> (UInt16, UInt16) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let year = min(max((c.year ?? 1980) - 1980, 0), 127)
        let time = ((c.hour ?? 0) << 11) | ((c.minute ?? 0) << 5) | ((c.second ?? 0) / 2)
        let day = (year << 9) | ((c.month ?? 1) << 5) | (c.day ?? 1)
        return (UInt16(time), UInt16(day))
    }

    static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    static func append64(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
}
