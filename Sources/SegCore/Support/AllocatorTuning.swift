import CSegShim

/// A process-wide allocator setting for executables that segment many large images (segctl,
/// segserver). SegCore never applies it itself: embedding tools decide.
public enum AllocatorTuning {
    /// Keeps large buffers in the process between images instead of mapping and releasing them for
    /// each one (glibc: `M_MMAP_MAX` 0, `M_TRIM_THRESHOLD` 256 MiB). Call once, early.
    /// - Returns: whether the setting applied (it does on glibc only).
    @discardableResult
    public static func keepLargeBuffers() -> Bool {
        seg_keep_large_buffers() == 0
    }
}
