import NIOWebSocket
import Testing

@testable import SegHTTP

/// The per-socket send queue. A client that stops reading is a fault a real socket produces only after the kernel's
/// buffers (megabytes on loopback) fill, so the queue's bound is tested on the queue itself.
@Suite struct EventOutboxTests {
    @Test func messagesComeOutInOrder() async {
        let outbox = EventOutbox(limit: 1024)
        #expect(outbox.send("a") == .queued)
        #expect(outbox.send("b") == .queued)
        #expect(outbox.queuedBytes == 2)
        #expect(await outbox.next() == .text("a"))
        #expect(await outbox.next() == .text("b"))
        #expect(outbox.queuedBytes == 0)
    }

    @Test func aWaitingWriterGetsTheNextMessage() async {
        let outbox = EventOutbox(limit: 1024)
        async let taken = outbox.next()
        // Whether the writer is already waiting or not, it gets the message.
        outbox.send("hello")
        #expect(await taken == .text("hello"))
    }

    @Test func aClientThatFallsBehindIsClosedInsteadOfGrowingTheQueue() async {
        // setup: room for ten 10-byte messages
        let outbox = EventOutbox(limit: 100)
        for _ in 0..<10 { #expect(outbox.send(String(repeating: "x", count: 10)) == .queued) }

        // MUT
        let overflow = outbox.send("one more")

        // validate: nothing queued is kept, the close frame is next, and nothing is accepted after it
        #expect(overflow == .overflowed)
        #expect(outbox.queuedBytes == 0)
        #expect(outbox.send("late") == .closed)
        #expect(await outbox.next() == .close(EventCloseCode.tooSlow, reason: "too slow: the client fell too far behind"))
    }

    @Test func aCloseGoesAfterWhatIsQueued() async {
        let outbox = EventOutbox(limit: 1024)
        outbox.send("error message")
        outbox.close(EventCloseCode.unauthorized, reason: "INVALID_TOKEN")
        #expect(outbox.send("event") == .closed)
        #expect(await outbox.next() == .text("error message"))
        #expect(await outbox.next() == .close(EventCloseCode.unauthorized, reason: "INVALID_TOKEN"))
    }

    @Test func finishingWakesTheWriter() async {
        let outbox = EventOutbox(limit: 1024)
        async let taken = outbox.next()
        outbox.finish()
        #expect(await taken == nil)
        #expect(await outbox.next() == nil)
    }

    @Test func cancellingTheWriterEndsItsWait() async {
        let outbox = EventOutbox(limit: 1024)
        let writer = Task { await outbox.next() }
        writer.cancel()
        #expect(await writer.value == nil)
    }
}
