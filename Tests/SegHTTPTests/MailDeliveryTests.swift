import Foundation
import Logging
import PostgresNIO
import SegMail
import SegStorage
import SegTestSupport
import Testing

@testable import SegHTTP

/// The outbox worker against a real PostgreSQL and a real SMTP server: each message delivered once, permanent refusals
/// kept with their reason, temporary ones retried after their wait, a stall after DATA timed out and retried, and an
/// attempt interrupted between sending and marking never sent again by itself.
@Suite(.timeLimit(.minutes(3))) struct MailDeliveryTests {
    static let logger = Logger(label: "MailDeliveryTests")

    static func mail(to recipient: String, template: String = "password-reset") -> OutgoingMail {
        OutgoingMail(
            template: template, recipient: recipient, subject: "Reset your SegHub password",
            text: "Open https://seghub.example/reset-password?token=abc within an hour.", html: "<p>Open the link.</p>",
            messageID: "<\(UUID().uuidString.lowercased())@seghub.test>")
    }

    static func delivery(
        _ database: Database, url: String?, policy: MailDelivery.Policy = .init(), metrics: AppMetrics = AppMetrics()
    ) throws -> MailDelivery {
        MailDelivery(
            client: try url.map { try SMTPClient(settings: SMTPSettings(url: $0, heloName: "seghub.test")) },
            from: try MailAddress("seghub@lab.example", name: "SegHub"), database: database, metrics: metrics, policy: policy,
            logger: logger)
    }

    static func record(_ id: UUID, _ database: Database) async throws -> MailRecord {
        try #require(try await MailOutboxRepository.list(state: nil, limit: 1000, on: database).first { $0.id == id })
    }

    @Test func everyDueMessageIsDeliveredOnceWithItsMessageID() async throws {
        let server = try TestSMTPServer.load()
        try await withTestDatabase { client in
            // setup: three messages
            let database = Database(client: client, logger: Self.logger)
            let recipients = (0..<3).map { _ in TestSMTPServer.recipient() }
            var records: [MailRecord] = []
            for recipient in recipients { records.append(try await MailOutboxRepository.enqueue(Self.mail(to: recipient), on: database)) }
            let delivery = try Self.delivery(database, url: server.url("smtps", port: server.smtpsPort))

            // MUT: two passes
            let first = try await delivery.pass()
            let second = try await delivery.pass()

            // validate: sent once each, marked with the server's answer; the second pass finds nothing
            #expect(first.map(\.outcome) == [.sent, .sent, .sent])
            #expect(second.isEmpty)
            for (recipient, record) in zip(recipients, records) {
                let got = try server.received(by: recipient)
                #expect(got.count == 1)
                #expect(got.first?.raw.contains("Message-ID: \(record.mail.messageID)") == true)
                let stored = try await Self.record(record.id, database)
                #expect(stored.state == .sent && stored.attempts == 1 && stored.serverReply?.contains("queued as") == true)
            }
        }
    }

    @Test func aPermanentRefusalIsKeptAsFailedWithItsReason() async throws {
        let server = try TestSMTPServer.load()
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let record = try await MailOutboxRepository.enqueue(Self.mail(to: TestSMTPServer.recipient("reject550")), on: database)
            let metrics = AppMetrics()

            // MUT
            let outcomes = try await Self.delivery(database, url: server.url("smtps", port: server.smtpsPort), metrics: metrics).pass()

            // validate: failed at the first attempt, the 550 kept, counted
            #expect(outcomes.map(\.outcome) == [.failed])
            let stored = try await Self.record(record.id, database)
            #expect(stored.state == .failed && stored.attempts == 1 && stored.lastError?.contains("550") == true)
            let exposition = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self)
            #expect(exposition.contains(#"seghub_mail_sent_total{template="password-reset",result="failed"} 1"#))
        }
    }

    @Test func aServerDownForAWhileGetsTheMessageOnceItIsBack() async throws {
        let server = try TestSMTPServer.load()
        try await withTestDatabase { client in
            // setup: the first attempts go to a port where nothing listens, retried after 1 s
            let database = Database(client: client, logger: Self.logger)
            let recipient = TestSMTPServer.recipient()
            let record = try await MailOutboxRepository.enqueue(Self.mail(to: recipient), on: database)
            var policy = MailDelivery.Policy()
            policy.firstRetry = .seconds(1)
            let down = try Self.delivery(database, url: "smtp://127.0.0.1:9?timeout=3", policy: policy)

            // MUT: down; at once again (not due yet); after the wait, with the server back
            let failed = try await down.pass()
            let early = try await down.pass()
            let waiting = try await Self.record(record.id, database)
            try await Task.sleep(for: .milliseconds(1200))
            let back = try await Self.delivery(database, url: server.url("smtps", port: server.smtpsPort), policy: policy).pass()

            // validate
            #expect(failed.map(\.outcome) == [.retry] && early.isEmpty)
            #expect(waiting.state == .queued && waiting.attempts == 1 && waiting.lastError?.contains("connecting") == true)
            #expect(waiting.nextAttemptAt > waiting.createdAt)
            #expect(back.map(\.outcome) == [.sent])
            #expect(try server.received(by: recipient).count == 1)
            let stored = try await Self.record(record.id, database)
            #expect(stored.state == .sent && stored.attempts == 2 && stored.lastError == nil)
        }
    }

    @Test func aStallAfterTheDataTimesOutIsRetriedAndGivenUpAfterItsAttempts() async throws {
        let server = try TestSMTPServer.load()
        try await withTestDatabase { client in
            // setup: a server that never answers the end of the data, a 2 s timeout, two attempts at most, no wait
            let database = Database(client: client, logger: Self.logger)
            let record = try await MailOutboxRepository.enqueue(Self.mail(to: TestSMTPServer.recipient("stall")), on: database)
            var policy = MailDelivery.Policy()
            policy.maxAttempts = 2
            policy.firstRetry = .seconds(0)
            let url = "smtps://\(server.user):\(server.password)@\(server.host):\(server.smtpsPort)?ca_file=\(server.caFile)&timeout=2"
            let delivery = try Self.delivery(database, url: url, policy: policy)

            // MUT: the retry is due at once, so one pass makes both attempts
            let outcomes = try await delivery.pass()

            // validate: retried once, then given up, the reason kept
            #expect(outcomes.map(\.outcome) == [.retry, .failed])
            #expect(outcomes.map(\.id) == [record.id, record.id])
            let stored = try await Self.record(record.id, database)
            #expect(stored.state == .failed && stored.attempts == 2)
            #expect(stored.lastError?.contains("no answer to the end of the message") == true)
            #expect(stored.lastError?.contains("given up after 2 attempts") == true)
        }
    }

    @Test func anAttemptInterruptedBetweenSendingAndMarkingIsNotSentAgainByItself() async throws {
        let server = try TestSMTPServer.load()
        try await withTestDatabase { client in
            // setup: a worker claimed the message (state sending, attempt counted) and stopped
            let database = Database(client: client, logger: Self.logger)
            let recipient = TestSMTPServer.recipient()
            let record = try await MailOutboxRepository.enqueue(Self.mail(to: recipient), on: database)
            let claimed = try #require(try await MailOutboxRepository.claimNext(on: database))
            #expect(claimed.id == record.id && claimed.state == .sending && claimed.attempts == 1)
            var policy = MailDelivery.Policy()
            policy.interruptedAfter = .seconds(0)
            let delivery = try Self.delivery(database, url: server.url("smtps", port: server.smtpsPort), policy: policy)
            try await Task.sleep(for: .milliseconds(20))

            // MUT
            let outcomes = try await delivery.pass()

            // validate: marked failed with the reason, nothing sent
            #expect(outcomes.map(\.outcome) == [.interrupted])
            let stored = try await Self.record(record.id, database)
            #expect(stored.state == .failed && stored.lastError?.contains("interrupted") == true)
            #expect(try server.received(by: recipient).isEmpty)

            // An operator's retry sends it once.
            try await MailOutboxRepository.retry(id: record.id, on: database)
            #expect(try await delivery.pass().map(\.outcome) == [.sent])
            #expect(try server.received(by: recipient).count == 1)
        }
    }

    @Test func twoWorkersNeverTakeTheSameMessage() async throws {
        let server = try TestSMTPServer.load()
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let recipients = (0..<12).map { _ in TestSMTPServer.recipient() }
            for recipient in recipients { _ = try await MailOutboxRepository.enqueue(Self.mail(to: recipient), on: database) }
            let url = server.url("smtps", port: server.smtpsPort)

            // MUT: two passes at once
            async let a = Self.delivery(database, url: url).pass()
            async let b = Self.delivery(database, url: url).pass()
            let (left, right) = try await (a, b)

            // validate: twelve sends between them, each recipient once
            #expect(left.count + right.count == 12)
            #expect(Set(left.map(\.id)).isDisjoint(with: right.map(\.id)))
            for recipient in recipients { #expect(try server.received(by: recipient).count == 1) }
        }
    }
}
