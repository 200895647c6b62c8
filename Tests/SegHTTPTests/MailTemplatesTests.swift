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

    @Test func aMissingValueOrTemplateIsAnError() {
        #expect(throws: MailTemplates.Failure.self) { try MailTemplates.render("password-reset", ["product": "SegHub"]) }
        #expect(throws: MailTemplates.Failure.self) { try MailTemplates.render("no-such-template", [:]) }
        #expect(throws: MailTemplates.Failure.self) { try MailTemplates.fill("a {{b", [:], escape: false) }
    }
}
