import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

/// `segctl mail list|retry|purge` against a real outbox.
@Suite(.timeLimit(.minutes(5))) struct MailCommandTests {
    static func mail(_ recipient: String) -> OutgoingMail {
        OutgoingMail(
            template: "invitation", recipient: recipient, subject: "You are invited", text: "Join the project.", html: nil,
            messageID: "<\(UUID().uuidString.lowercased())@seghub.test>")
    }

    @Test func listRetryAndPurgeActOnTheRightMessages() async throws {
        try await withTestDatabaseURL { client, url in
            // setup: one queued, one failed (claimed, then given up), one sent three days ago
            let database = Database(client: client, logger: AdminFixtures.logger)
            let queued = try await MailOutboxRepository.enqueue(Self.mail("a@lab.example"), on: database)
            let failed = try await MailOutboxRepository.enqueue(Self.mail("b@lab.example"), on: database)
            let sent = try await MailOutboxRepository.enqueue(Self.mail("c@lab.example"), on: database)
            try await client.query("UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' WHERE id = \(queued.id)")
            for (id, mark) in [(failed.id, "failed"), (sent.id, "sent")] {
                let claimed = try #require(try await MailOutboxRepository.claimNext(on: database))
                #expect(claimed.id == id)
                if mark == "failed" {
                    try await MailOutboxRepository.markFailed(id: id, error: "550 no such mailbox", on: database)
                } else {
                    try await MailOutboxRepository.markSent(id: id, reply: "queued as X", on: database)
                }
            }
            try await client.query("UPDATE mail_outbox SET sent_at = now() - interval '3 days' WHERE id = \(sent.id)")

            // MUT + validate: the failed list names the reason
            let list = try await AdminFixtures.run(["mail", "list", "--state", "failed", "--database-url", url, "--json"])
            #expect(list.status == 0, "stderr: \(list.stderr)")
            let entries = try #require(try AdminFixtures.json(list) as? [[String: Any]])
            #expect(entries.count == 1 && entries.first?["recipient"] as? String == "b@lab.example")
            #expect(entries.first?["lastError"] as? String == "550 no such mailbox")

            // retry: the failed one is queued again; a queued one is refused with a clear message
            let retry = try await AdminFixtures.run(["mail", "retry", failed.id.uuidString, "--database-url", url])
            #expect(retry.status == 0 && retry.stdoutText.contains("1 message(s) queued again"), "stderr: \(retry.stderr)")
            let again = try await AdminFixtures.run(["mail", "retry", queued.id.uuidString, "--database-url", url])
            #expect(again.status == 1 && again.stderr.contains("is not a failed message"))
            let states = try await MailOutboxRepository.list(state: nil, limit: 10, on: database)
            #expect(states.first { $0.id == failed.id }?.state == .queued)

            // purge: sent more than 2 days ago goes, the others stay
            let purge = try await AdminFixtures.run(["mail", "purge", "--older-than-days", "2", "--database-url", url, "--json"])
            let purged = try AdminFixtures.json(purge) as? [String: Int]
            #expect(purge.status == 0 && purged?["deleted"] == 1)
            let left = try await MailOutboxRepository.list(state: nil, limit: 10, on: database).map(\.id)
            #expect(Set(left) == [queued.id, failed.id])
            let bad = try await AdminFixtures.run(["mail", "retry", "--database-url", url])
            #expect(bad.status != 0 && bad.stderr.contains("exactly one of a message id or --all"))
        }
    }
}
