import Channels
import Foundation
import PurserCore
import Testing

@Suite struct EmailTests {
    /// The zbateson mails carry the same German fable in 8-bit Latin-1, quoted-printable Latin-1,
    /// UTF-8, Windows-1252 and HTML; each must come out with its umlauts intact.
    @Test(arguments: ["m0004.txt", "m0005.txt", "m0008.txt", "m0010.txt", "m1002.txt", "m2001.txt", "m2003.txt"])
    func germanUmlautsSurviveEveryEncoding(_ name: String) throws {
        let message = try #require(try Samples.message("email/zbateson/\(name)"))
        #expect(message.channel == .email)
        #expect(message.subject?.hasPrefix("Die Hasen und die Frösche") == true)
        #expect(message.text.hasPrefix("Die Hasen und die Frösche"))
        #expect(message.text.contains("Die Hasen klagten einst über ihre mißliche Lage"))
        #expect(message.text.contains("ärger als der"))
        #expect(message.text.contains("unglücklicher sein müssen als wir."))
        #expect(!message.text.contains("="), "quoted-printable left undecoded")
        #expect(!message.text.contains("<"), "HTML left in the text")
        #expect(message.contactName == "Doug Sauder")
        #expect(message.from.hasSuffix("@example.com"))
    }

    @Test func headersWithEncodedWordsAndDisplayNames() throws {
        let m0004 = try #require(try Samples.message("email/zbateson/m0004.txt"))
        #expect(m0004.to == "schmuergen@example.com")
        #expect(m0004.from == "doug@example.com")
        #expect(m0004.externalMessageId == "NDBBIAKOPKHFGPLCODIGEEKCCHAA.doug@example.com")
        #expect(m0004.subject == "Die Hasen und die Frösche (Microsoft Outlook 00)")
        #expect(m0004.receivedAt.map { Timestamp($0).iso8601 } == "2000-05-17T23:13:51Z")
        // A second `From:` further down the header block does not replace the first.
        #expect(try Samples.message("email/zbateson/m0010.txt")?.from == "doug@example.com")
        #expect(MailAddress.parseList("=?iso-8859-1?Q?J=FCrgen?= =?iso-8859-1?Q?_Schm=FCrgen?=\r\n  <jschmuergen@example.com>")
                == [MailAddress(address: "jschmuergen@example.com", name: "Jürgen Schmürgen")])
        #expect(MailAddress.parseList("=?Windows-1252?Q?Heinz_M=FCller?= <mueller@example.com>").first?.name == "Heinz Müller")
    }

    @Test func multipartAlternativePrefersPlainText() throws {
        let message = try #require(try Samples.message("email/zbateson/m0014.txt"))
        #expect(message.text.hasPrefix("The Hare and the Tortoise\n\nA HARE one day ridiculed"))
        #expect(message.text.hasSuffix("Slow but steady wins the race."))
        #expect(!message.text.contains("&nbsp;"))
    }

    @Test func htmlOnlyMailBecomesParagraphs() throws {
        let message = try #require(try Samples.message("email/zbateson/m2003.txt"))
        let paragraphs = message.text.components(separatedBy: "\n\n")
        #expect(paragraphs.count == 4)
        #expect(paragraphs[0] == "Die Hasen und die Frösche")
        #expect(paragraphs[1].hasPrefix("Die Hasen klagten einst über ihre mißliche Lage; \"wir leben\", sprach ein Redner"))
        #expect(paragraphs[3].hasPrefix("\"Halt\", rief nun eben dieser Sprecher"))
    }

    @Test func threadedReply() throws {
        let message = try #require(try Samples.message("email/mikel/example07.eml"))
        #expect(message.from == "jdoe@machine.example")
        #expect(message.contactName == "John Doe")
        #expect(message.to == "smith@home.example")
        #expect(message.subject == "Re: Saying Hello")
        #expect(message.text == "This is a reply to your reply.")
        #expect(message.externalMessageId == "abcd.1234@local.machine.tld")
        #expect(message.inReplyTo == "3456@example.net")
        #expect(message.references == ["1234@local.machine.example", "3456@example.net"])
        #expect(message.threadKey == "1234@local.machine.example")

        let reply = try #require(try Samples.message("email/mikel/raw_email_reply.eml"))
        #expect(reply.inReplyTo == "348F04F142D69C21-291E56D292BC@xxxx.net")
        #expect(reply.threadKey == "473FF3B8.9020707@xxx.org")
        #expect(reply.text == "Message body")
        #expect(reply.to == "mikel@xxxx.net")
    }

    @Test func forwardedGmailWithSignatureAttachment() throws {
        let message = try #require(try Samples.message("email/mikel/raw_email2.eml"))
        #expect(message.text.hasPrefix("We should not include these files or vcards as attachments."))
        #expect(message.text.contains("---------- Forwarded message ----------"))
        #expect(message.text.contains("\"smime.p7s\")."))
        // The S/MIME signature is not content the customer sent.
        #expect(message.attachments.isEmpty)
        #expect(message.inReplyTo == "F6E2D0B4-CC35-4A91-BA4C-C7C712B10C13@mac.com")
    }

    @Test(arguments: [
        ("email/patchew/0003-single-patch-reviewed.mbox", 3),
        ("email/patchew/0004-multiple-patch-reviewed.mbox", 5),
        ("email/patchew/0016-nested-multipart.mbox", 1),
        ("email/patchew/0018-mime-word-recipient.mbox", 1),
    ])
    func mboxMessageCounts(_ file: String, _ count: Int) throws {
        let outcomes = try Samples.outcomes(file, format: .mbox).outcomes
        #expect(outcomes.compactMap(\.message).count == count)
        #expect(outcomes.map(\.position.index) == Array(1...count).map { $0 })
    }

    @Test func patchewThread() throws {
        let messages = try Samples.messages("email/patchew/0003-single-patch-reviewed.mbox")
        #expect(messages.map(\.from) == ["paul.burton@imgtec.com", "aurelien@aurel32.net", "leon.alrae@imgtec.com"])
        #expect(Set(messages.compactMap(\.threadKey)) == ["20160722095540.5887-1-paul.burton@imgtec.com"])
        #expect(messages[1].inReplyTo == "20160722095540.5887-1-paul.burton@imgtec.com")
        let positions = try Samples.outcomes("email/patchew/0003-single-patch-reviewed.mbox").outcomes.map(\.position.line)
        #expect(positions == [1, 94, 197])
    }

    @Test func encodedSenderNames() throws {
        let philippe = try #require(try Samples.message("email/patchew/0018-mime-word-recipient.mbox"))
        #expect(philippe.contactName == "Philippe Mathieu-Daudé")
        #expect(philippe.text.hasPrefix("examples configuring with '--enable-kvm --disable-tcg'"))
        #expect(philippe.recipients.contains("anthony.perard@citrix.com"))
        let kingsoft = try #require(try Samples.message("email/patchew/0035-rfc2047-from.mbox"))
        #expect(kingsoft.contactName == "AIERPATIJIANG1 [艾尔帕提江·阿布都赛买提]")
        #expect(kingsoft.from == "aierpatijiang1@kingsoft.com")
        #expect(kingsoft.subject == "[PATCH] hw/char/virtio-serial-bus: fix: Unpop throttled VirtQueueElement to queue before discard vq data")
        #expect(kingsoft.text.hasPrefix("Ports enter a \"throttled\" state"))
    }

    @Test func nestedAndNonUTF8Multiparts() throws {
        let nested = try #require(try Samples.message("email/patchew/0016-nested-multipart.mbox"))
        #expect(nested.text.contains("ACK"))
        #expect(!nested.text.contains("BEGIN PGP SIGNATURE"))
        let latin1 = try #require(try Samples.message("email/patchew/0006-multi-part-non-utf-8.mbox"))
        #expect(latin1.text.contains("Signed-off-by: Marc Marí <markmb@redhat.com>"))
        #expect(latin1.text.hasSuffix("Reviewed-by: Stefan Hajnoczi <stefanha@redhat.com>"))
    }

    // MARK: - Building blocks

    @Test(arguments: [
        ("=?iso-8859-1?B?SvxyZ2VuIFNjaG38cmdlbg==?=", "Jürgen Schmürgen"),
        ("=?iso-8859-1?Q?Die_Hasen_und_die_Fr=F6sche_=28Microsoft_Outlook_00=29?=", "Die Hasen und die Frösche (Microsoft Outlook 00)"),
        ("Die Hasen und die =?iso-8859-1?Q?Fr=F6sche?= (Netscape)", "Die Hasen und die Frösche (Netscape)"),
        ("=?Windows-1252?Q?=80_5_=96_gro=DF?=", "€ 5 – groß"),
        ("=?UTF-8?q?Philippe=20Mathieu-Daud=C3=A9?=", "Philippe Mathieu-Daudé"),
        ("=?utf-8?B?w7w=?= =?utf-8?B?w7w=?=", "üü"),
        ("=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "€"),
        ("=?iso-8859-15?Q?=A4?=", "€"),
        ("=?iso-8859-2?Q?=B9?=", "š"),
        ("plain =?broken", "plain =?broken"),
    ])
    func encodedWords(_ raw: String, _ decoded: String) {
        let message = "From: a@b.de\nTo: c@d.de\nSubject: \(raw)\n\nx\n"
        let outcome = EmailAdapter.outcome(mail: Array(message.utf8), position: SourcePosition(source: "t"))
        #expect(outcome.message?.subject == decoded)
    }

    @Test func htmlReduction() throws {
        let html = """
        <html><head><title>x</title><style>p { color: red }</style></head><body>
        <script>alert("no")</script><!-- hidden -->
        <p>Hallo&nbsp;Max,</p><p>wir haben <b>3 Plätze</b> &amp; einen&#8209;Kurs&#x21;</p>
        <ul><li>SBF Binnen</li><li>SBF See</li></ul>Gr&uuml;&szlig;e<br>Segelschule
        </body></html>
        """
        let mail = "From: a@b.de\nTo: c@d.de\nContent-Type: text/html; charset=utf-8\n\n\(html)\n"
        let message = try #require(EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t")).message)
        #expect(message.text == "Hallo Max,\n\nwir haben 3 Plätze & einen\u{2011}Kurs!\n\n- SBF Binnen\n- SBF See\n\nGrüße\nSegelschule")
    }

    @Test func base64AndAttachments() throws {
        let mail = """
        From: "Max M." <Max@Example.DE>
        To: info@segelschule.de
        Subject: Anmeldung
        Message-ID: <x1@example.de>
        Content-Type: multipart/mixed; boundary="outer"

        --outer
        Content-Type: multipart/alternative; boundary=inner

        --inner
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: base64

        SWNoIG3DtmNodGUgbWljaCBhbm1lbGRlbi4=
        --inner
        Content-Type: text/html; charset=utf-8

        <p>HTML version</p>
        --inner--
        --outer
        Content-Type: application/pdf; name="=?utf-8?Q?F=C3=BChrerschein.pdf?="
        Content-Disposition: attachment
        Content-Transfer-Encoding: base64

        JVBERi0xLjQK
        --outer--
        """
        let message = try #require(EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t")).message)
        #expect(message.from == "max@example.de")
        #expect(message.contactName == "Max M.")
        #expect(message.text == "Ich möchte mich anmelden.")
        #expect(message.attachments == [Attachment(kind: "file", mimeType: "application/pdf", fileName: "Führerschein.pdf", sizeBytes: 9)])
        #expect(message.threadKey == "x1@example.de")
    }

    @Test(arguments: [
        ("To: c@d.de\nSubject: no sender\n\nbody\n", "sender"),
        ("From: a@b.de\nSubject: nobody\n\nbody\n", "recipient"),
        ("From: a@b.de\nTo: c@d.de\n\n\n", "text"),
        ("just some words\nwithout headers\n", "header"),
    ])
    func unusableMailsAreRejected(_ mail: String, _ mentions: String) {
        let outcome = EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t", index: 1))
        let rejection = outcome.rejection
        #expect(rejection?.code == .invalidEmail)
        #expect(rejection?.reason.contains(mentions) == true, "\(rejection?.reason ?? "accepted")")
        #expect(rejection?.raw == Data(mail.utf8))
    }

    @Test(arguments: [
        "Auto-Submitted: auto-replied\n",
        "X-Autoreply: yes\n",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n",
    ])
    func automaticMailIsNotAnswered(_ header: String) {
        let mail = "From: mailer-daemon@x.de\nTo: info@segelschule.de\n\(header)\n--b\nContent-Type: text/plain\n\nAbwesend.\n--b--\n"
        let rejection = EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t")).rejection
        #expect(rejection?.code == .notAMessage)
        #expect(rejection?.reason.contains("mail loop") == true)
        // A person's mail that merely says it does not want auto-replies still goes through.
        let human = "From: a@b.de\nTo: c@d.de\nAuto-Submitted: no\nPrecedence: junk\n\nHallo\n"
        #expect(EmailAdapter.outcome(mail: Array(human.utf8), position: SourcePosition(source: "t")).message?.text == "Hallo")
    }

    @Test func unclosedHeadKeepsTheText() throws {
        let mail = "From: a@b.de\nTo: c@d.de\nContent-Type: text/html\n\n<html><head><meta charset=utf-8><body><p>Noch da?</p>\n"
        #expect(EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t")).message?.text == "Noch da?")
    }

    @Test func formatFlowedIsJoined() throws {
        let mail = "From: a@b.de\nTo: c@d.de\nContent-Type: text/plain; format=flowed\n\nThis is one \nlong line.\n\n-- \nSig\n"
        let message = try #require(EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t")).message)
        #expect(message.text == "This is one long line.\n\n--\nSig")
    }

    @Test func longBodiesAreCutNotRejected() throws {
        let body = String(repeating: "Zeile mit Text äöü\n", count: 500)
        let mail = "From: a@b.de\nTo: c@d.de\n\n\(body)"
        var limits = ChannelLimits()
        limits.messageTextBytesMax = 1000
        let message = try #require(EmailAdapter.outcome(mail: Array(mail.utf8), position: SourcePosition(source: "t"), limits: limits).message)
        #expect(message.text.utf8.count <= 1000)
        #expect(message.text.hasSuffix("]"))
        #expect(message.text.contains("mail cut at 1000 bytes"))
    }
}
