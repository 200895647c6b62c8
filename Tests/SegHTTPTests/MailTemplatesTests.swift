import Testing

@testable import SegHTTP

/// The mail templates render with every value in place, HTML-escaped in the HTML part, and refuse a missing value.
@Suite struct MailTemplatesTests {
    @Test func thePasswordResetTemplateRendersItsValuesEscapedForHTML() throws {
        let link = "https://seghub.example/reset-password?token=a&b"
        let rendered = try MailTemplates.render(
            "password-reset", ["product": "SegHub", "email": "ana<x>@lab.example", "link": link, "hours": "1"])
        #expect(rendered.subject == "Reset your SegHub password")
        #expect(rendered.text.contains(link) && rendered.text.contains("ana<x>@lab.example") && rendered.text.contains("1 hour(s)"))
        #expect(rendered.html.contains("href=\"https://seghub.example/reset-password?token=a&amp;b\""))
        #expect(rendered.html.contains("ana&lt;x&gt;@lab.example") && !rendered.html.contains("ana<x>"))
        #expect(!rendered.text.contains("{{") && !rendered.html.contains("{{"))
    }

    /// Every template the server sends, with the values its sender gives: a subject, the product, the link in both parts
    /// (escaped in HTML), the values that are people's input escaped, nothing left unfilled.
    @Test(arguments: [
        ("verify-email", ["email", "link", "hours"], "Confirm your address for SegHub"),
        ("account-exists", ["email", "link", "signin"], "Your SegHub account"),
        (
            "invitation", ["email", "project", "role", "inviter", "link", "days"],
            "Ana <ana@lab.example> invited you to \"<Spheroids & co>\" on SegHub"
        ),
        ("member-added", ["email", "project", "role", "inviter", "link"], "Ana <ana@lab.example> added you to \"<Spheroids & co>\" on SegHub"),
        (
            "share-link", ["email", "project", "role", "inviter", "link", "validity"],
            "Ana <ana@lab.example> shared \"<Spheroids & co>\" on SegHub with you"
        ),
    ])
    func everyTemplateRendersWithItsValues(name: String, keys: [String], subject: String) throws {
        let samples = [
            "email": "kim@lab.example", "link": "https://seghub.example/page?token=a&b", "hours": "24", "signin": "https://seghub.example",
            "project": "<Spheroids & co>", "role": "editor", "inviter": "Ana <ana@lab.example>", "days": "14", "validity": "7 day(s)",
            "product": "SegHub",
        ]
        var values = samples.filter { keys.contains($0.key) || $0.key == "product" }
        let rendered = try MailTemplates.render(name, values)
        #expect(rendered.subject == subject)
        #expect(rendered.text.contains("https://seghub.example/page?token=a&b") && rendered.text.contains("SegHub"))
        #expect(rendered.html.contains("href=\"https://seghub.example/page?token=a&amp;b\""))
        #expect(!rendered.html.contains("<Spheroids") && !rendered.html.contains("Ana <ana"))
        if keys.contains("project") { #expect(rendered.html.contains("&lt;Spheroids &amp; co&gt;") && rendered.text.contains("<Spheroids & co>")) }
        #expect(!rendered.text.contains("{{") && !rendered.html.contains("{{"))
        // each value is needed: leaving any out is an error, not a message with a hole
        for key in keys {
            values[key] = nil
            #expect(throws: MailTemplates.Failure.self, "\(name) without \(key)") { try MailTemplates.render(name, values) }
            values[key] = samples[key]
        }
    }

    @Test func aMissingValueOrTemplateIsAnError() {
        #expect(throws: MailTemplates.Failure.self) { try MailTemplates.render("password-reset", ["product": "SegHub"]) }
        #expect(throws: MailTemplates.Failure.self) { try MailTemplates.render("no-such-template", [:]) }
        #expect(throws: MailTemplates.Failure.self) { try MailTemplates.fill("a {{b", [:], escape: false) }
    }
}
