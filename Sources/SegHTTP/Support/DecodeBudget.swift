import Logging

/// The process-wide memory budget for decoding images (`SEG_DECODE_MEMORY_BYTES`): every decode (an upload's previews,
/// another plane's rendition, a segmentation job) reserves its estimated peak first and waits, first come first served,
/// while the budget cannot hold it, rather than overcommit the machine. Work that needs more than the whole budget is
/// refused at once with ``Exceeded`` (it could never fit; running it anyway is the overcommitment the budget exists to
/// prevent): the caller reports the image as too large for this server's setting.
///
/// Estimates come from the headers: ``SegCore/ImagePreviews/plan(of:selection:thumbnailSide:rendition:limits:)`` for
/// previews read band by band (a few MB whatever the pixel count), ``SegCore/ImageDecoder/peakDecodeBytes(of:selection:limits:)``
/// for whole decodes.
actor DecodeBudget {
    /// The budget in bytes.
    let capacity: Int
    /// Bytes reserved now.
    private(set) var reserved = 0
    /// Reservations waiting, oldest first.
    private var waiting: [(bytes: Int, continuation: CheckedContinuation<Void, Never>)] = []
    /// The most bytes ever reserved at once (for tests).
    private(set) var peakReserved = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// A decode that needs more than the whole budget.
    struct Exceeded: Error, CustomStringConvertible {
        /// The estimated peak of the decode.
        var bytes: Int
        /// The budget.
        var capacity: Int

        var description: String {
            "decoding this image needs about \(bytes >> 20) MiB, more than the server's decode memory budget "
                + "(SEG_DECODE_MEMORY_BYTES, \(capacity >> 20) MiB)"
        }
    }

    /// Runs `body` once `bytes` are reserved, and releases them when it ends.
    /// - Throws: ``Exceeded`` at once when `bytes` is more than the whole budget; whatever `body` throws.
    nonisolated func withReservation<R: Sendable>(_ bytes: Int, _ body: () async throws -> R) async throws -> R {
        guard bytes <= capacity else { throw Exceeded(bytes: bytes, capacity: capacity) }
        let held = await reserve(bytes)
        do {
            let result = try await body()
            await release(held)
            return result
        } catch {
            await release(held)
            throw error
        }
    }

    /// How many reservations wait now.
    var waitingCount: Int { waiting.count }

    private func reserve(_ bytes: Int) async -> Int {
        let held = max(0, bytes)
        if waiting.isEmpty, reserved + held <= capacity {
            take(held)
            return held
        }
        await withCheckedContinuation { continuation in waiting.append((held, continuation)) }
        return held
    }

    private func take(_ bytes: Int) {
        reserved += bytes
        peakReserved = max(peakReserved, reserved)
    }

    private func release(_ bytes: Int) {
        reserved -= bytes
        // Wake in order while the oldest fits: a large reservation is not overtaken for ever by small ones.
        while let first = waiting.first, reserved + first.bytes <= capacity {
            waiting.removeFirst()
            take(first.bytes)
            first.continuation.resume()
        }
    }
}
