import Foundation
import SegStorage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A full disk, produced for real: the store lives on a 256 KiB tmpfs mounted for the test.
///
/// `scripts/test.sh` runs as root on our machines, which `mount` needs; without that privilege the test fails
/// with a message saying so (it never skips).
@Suite(.serialized, .timeLimit(.minutes(5))) struct FileStoreDiskFullTests {
    @Test func fullDiskLeavesNoPartialObjectAndKeepsEarlierOnes() throws {
        // setup
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("seg-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: mountPoint) }
        let mounted = mount("tmpfs", mountPoint.path, "tmpfs", 0, "size=256k,mode=0700")
        try #require(mounted == 0, "mounting a small tmpfs failed (errno \(errno)); run the tests as root, as scripts/test.sh does")
        defer { umount(mountPoint.path) }
        let store = try LocalObjectStore(root: mountPoint)
        let small = try store.putBlocking(Array(repeating: 7, count: 10_000))

        // MUT: an object larger than the space left
        var big = [UInt8](repeating: 0, count: 400_000)
        for index in big.indices { big[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 7) }
        let error = #expect(throws: StorageError.self) { try store.putBlocking(big) }

        // validate: a clear error, no partial object or temporary file, the earlier object intact, space reusable
        #expect("\(error.map { "\($0)" } ?? "")".contains("put"))
        #expect(try store.allKeys() == [small])
        #expect(try store.readBlocking(small) == Array(repeating: 7, count: 10_000))
        let temporaryFiles = try FileManager.default.contentsOfDirectory(atPath: mountPoint.appendingPathComponent("tmp").path)
        #expect(temporaryFiles.isEmpty)
        let next = try store.putBlocking(Array(repeating: 9, count: 100_000))
        #expect(try store.readBlocking(next).count == 100_000)
    }
}
