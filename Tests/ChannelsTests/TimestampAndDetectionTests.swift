import Channels
import Foundation
import PurserCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-25T10:00:00Z", 1_795_600_800.0),
        ("2026-11-25T10:00:00.123Z", 1_795_600_800.123),
        ("2026-11-25T11:00:00+01:00", 1_795_600_800.0),
        ("2026-11-25T05:00:00-0500", 1_795_600_800.0),
        ("2026-11-25t10:00:00z", 1_795_600_800.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
    ])
    func iso8601(_ text: String, _ seconds: Double) throws {
        let date = try #require(Timestamp(iso8601: text, rules: .dateTime)?.date)
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.0005)
    }

    @Test(arguments: ["2026-11-25", "2026-11-25T10:00:00", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                      "2026-11-25T25:00:00Z", "yesterday", "", "2026-11-25T10:00:00Zjunk"])
    func iso8601Refusals(_ text: String) {
        #expect(Timestamp(iso8601: text, rules: .dateTime)?.date == nil)
    }

    @Test func formatting() {
        #expect(Timestamp(Date(timeIntervalSince1970: 1_795_600_800)).iso8601 == "2026-11-25T10:00:00Z")
        #expect(Timestamp(Date(timeIntervalSince1970: 1_795_600_800.25)).iso8601 == "2026-11-25T10:00:00.250Z")
        #expect(Timestamp(Date(timeIntervalSince1970: -1)).iso8601 == "1969-12-31T23:59:59Z")
    }

    @Test(arguments: [
        ("Wed, 17 May 2000 19:13:51 -0400", "2000-05-17T23:13:51Z"),
        ("Sun,  8 May 2005 14:09:11 -0500", "2005-05-08T19:09:11Z"),
        ("Fri, 21 Nov 1997 11:00:00 -0600", "1997-11-21T17:00:00Z"),
        ("Sun, 18 Nov 2007 19:56:07 +1100", "2007-11-18T08:56:07Z"),
        ("8 May 05 12:09 PDT", "2005-05-08T19:09:00Z"),
        ("Mon, 30 Oct 2017 15:20:21 -0300 (BRT)", "2017-10-30T18:20:21Z"),
        ("Tue, 1 Jul 2003 10:52:37 GMT", "2003-07-01T10:52:37Z"),
    ])
    func rfc5322Dates(_ text: String, _ iso: String) {
        #expect(ProviderTime.parseRFC5322(text).map { Timestamp($0).iso8601 } == iso)
    }
}

@Suite struct DetectionTests {
    @Test(arguments: [
        ("{\"channel\":\"sms\",\"to\":\"a\",\"from\":\"b\",\"text\":\"x\"}\n", InputFormat.jsonl),
        ("{\"object\":\"whatsapp_business_account\",\"entry\":[]}\n", .whatsapp),
        ("{\n  \"object\": \"whatsapp_business_account\",\n  \"entry\": []\n}\n", .whatsapp),
        ("[{\"object\":\"whatsapp_business_account\",\"entry\":[]}]", .whatsapp),
        ("{\n  \"to\": \"w\", \"from\": \"v\", \"text\": \"hi\"\n}", .webchat),
        ("{broken\n{\"channel\":\"sms\",\"to\":\"a\",\"from\":\"b\",\"text\":\"x\"}\n", .jsonl),
        ("# comment\nMessageSid=SM1&From=%2B1&To=%2B2&Body=x\n", .twilio),
        ("From someone@example.com Mon Jan  1 00:00:00 2026\nFrom: a@b\n", .mbox),
        ("Return-Path: <a@b>\nFrom: a@b\n\nx", .eml),
        ("\u{FEFF}Received: from x by y;\n", .eml),
    ])
    func detects(_ input: String, _ format: InputFormat) {
        #expect(FormatDetector.detect(prefix: Array(input.utf8)) == format)
        let reader = InboundReader(data: Data(input.utf8), sourceName: "d")
        _ = try? reader.readAll()
        #expect(reader.detectedFormat == format)
    }

    @Test func unknownInputIsOneRejectionWithItsBytes() throws {
        let text = "Dear team,\nplease call me back.\n"
        let outcomes = InboundReader.outcomes(of: Data(text.utf8), sourceName: "letter.txt")
        #expect(outcomes.count == 1)
        let rejection = try #require(outcomes.first?.rejection)
        #expect(rejection.code == .unknownFormat)
        #expect(rejection.raw == Data(text.utf8))
        #expect(rejection.reason.contains("--format"))
    }

    @Test func emptyInputHasNoOutcomes() {
        #expect(InboundReader.outcomes(of: Data(), sourceName: "empty").isEmpty)
        #expect(InboundReader.outcomes(of: Data("\n\n  \n".utf8), sourceName: "blank").isEmpty)
    }

    /// A reader behind a pipe must hand out the first line before the writer is done.
    @Test func firstLineArrivesBeforeTheRestIsWritten() throws {
        let pipe = Pipe()
        let reader = InboundReader(fileHandle: pipe.fileHandleForReading, sourceName: "-")
        pipe.fileHandleForWriting.write(Data((JSONLinesTests.good1 + "\n").utf8))
        let first = try reader.next()
        #expect(first?.message?.externalMessageId == "wamid.1")
        pipe.fileHandleForWriting.write(Data((JSONLinesTests.good2 + "\n").utf8))
        try pipe.fileHandleForWriting.close()
        #expect(try reader.next()?.message?.channel == .email)
        #expect(try reader.next() == nil)
    }
}
