import CSegShim

/// Arrays for image-sized buffers.
enum LargeBuffer {
    /// Buffers from this size on are advised into transparent huge pages (as NumPy does).
    static let hugePageThreshold = 4 << 20

    /// An array of `count` elements that `initialize` fills completely (it receives the base
    /// address, never nil for `count > 0`). Large buffers are advised into huge pages before the
    /// first write, so filling them costs a few page faults instead of thousands.
    @inline(__always)
    static func make<T>(count: Int, _ initialize: (UnsafeMutablePointer<T>) -> Void) -> [T] {
        guard count > 0 else { return [] }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard let base = buffer.baseAddress else {
                initialized = 0
                return
            }
            let bytes = count * MemoryLayout<T>.stride
            if bytes >= hugePageThreshold { seg_advise_huge_pages(base, bytes) }
            initialize(base)
            initialized = count
        }
    }

    /// An array of `count` plain values whose contents are unspecified: for buffers that the
    /// caller overwrites completely before reading (advised into huge pages like ``make(count:_:)``).
    @inline(__always)
    static func uninitialized<T: BitwiseCopyable>(count: Int) -> [T] {
        make(count: count) { (_: UnsafeMutablePointer<T>) in }
    }
}
