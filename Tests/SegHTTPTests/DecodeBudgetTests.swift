import Testing

@testable import SegHTTP

/// The decode budget on its own (no database): who runs when, and that reservations never exceed it.
@Suite struct DecodeBudgetTests {
    /// A gate a reservation's body waits at until the test opens it.
    actor Log {
        var events: [String] = []
        func add(_ event: String) { events.append(event) }
    }

    /// Waits (briefly, polling) until `condition` holds.
    static func eventually(_ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<500 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("condition not reached in 2.5 s")
    }

    @Test func reservationsThatDoNotFitWaitInArrivalOrder() async throws {
        // setup: 100 bytes; A holds 60 until released; B (60) arrives, then C (30), which would fit beside A.
        let budget = DecodeBudget(capacity: 100)
        let log = Log()
        let (releaseA, gateA) = AsyncStream.makeStream(of: Void.self)
        let a = Task {
            try await budget.withReservation(60) {
                await log.add("A start")
                for await _ in releaseA { break }
                await log.add("A end")
            }
        }
        try await Self.eventually { await log.events == ["A start"] }
        let b = Task { try await budget.withReservation(60) { await log.add("B start") } }
        try await Self.eventually { await budget.waitingCount == 1 }
        let c = Task { try await budget.withReservation(30) { await log.add("C start") } }
        try await Self.eventually { await budget.waitingCount == 2 }

        // MUT: nothing else starts while A holds its 60
        try await Task.sleep(for: .milliseconds(50))
        #expect(await log.events == ["A start"])
        gateA.yield()
        _ = try await (a.value, b.value, c.value)

        // validate: B before C (C did not overtake B), and never more than the budget reserved
        let events = await log.events
        #expect(events.first == "A start" && events.contains("A end"))
        let bStart = try #require(events.firstIndex(of: "B start"))
        let cStart = try #require(events.firstIndex(of: "C start"))
        #expect(bStart < cStart)
        #expect(await budget.peakReserved <= 100)
        #expect(await budget.reserved == 0)
    }

    @Test func aReservationOverTheWholeBudgetIsRefusedAtOnce() async throws {
        let budget = DecodeBudget(capacity: 100)
        let ran = Log()

        // MUT: 250 bytes wanted of a 100-byte budget
        await #expect(throws: DecodeBudget.Exceeded.self) { try await budget.withReservation(250) { await ran.add("large") } }

        // validate: the body never ran, nothing stays reserved or waiting, and the whole budget is still granted
        #expect(await ran.events.isEmpty)
        #expect(await budget.reserved == 0)
        #expect(await budget.waitingCount == 0)
        #expect(try await budget.withReservation(100) { 1 } == 1)
    }

    @Test func aFailingBodyReleasesItsReservation() async throws {
        struct Failure: Error {}
        let budget = DecodeBudget(capacity: 100)
        await #expect(throws: Failure.self) { try await budget.withReservation(80) { throw Failure() } }
        #expect(await budget.reserved == 0)
        // The whole budget is free again: 100 bytes are granted at once.
        let value = try await budget.withReservation(100) { 7 }
        #expect(value == 7)
    }
}
