import Channels
import Foundation
import Testing

/// Every real sample under `Tests/Fixtures/samples/{whatsapp,twilio,email}` must become messages,
/// statuses or reasoned rejections — never a crash, never silently nothing.
@Suite struct SampleFileTests {
    /// What each sample must yield: messages, statuses, rejections, and the detected format.
    static let expected: [String: (messages: Int, statuses: Int, rejections: Int, format: InputFormat?)] = [
        "whatsapp/cloud_api_text_message.json": (1, 0, 0, .whatsapp),
        "whatsapp/pywa_callback_button.json": (3, 0, 0, .whatsapp),
        "whatsapp/pywa_callback_selection.json": (2, 0, 0, .whatsapp),
        "whatsapp/pywa_message.json": (17, 0, 6, .whatsapp),
        "whatsapp/pywa_message_status.json": (0, 7, 0, .whatsapp),
        "whatsapp/pywa_LICENSE": (0, 0, 1, nil),
        "twilio/inbound_sms_form_bodies.txt": (1, 0, 0, .twilio),
        "email/mikel/example07.eml": (1, 0, 0, .eml),
        "email/mikel/raw_email2.eml": (1, 0, 0, .mbox),
        "email/mikel/raw_email_reply.eml": (1, 0, 0, .eml),
        "email/mikel/MIT-LICENSE": (0, 0, 1, nil),
        "email/patchew/0003-single-patch-reviewed.mbox": (3, 0, 0, .mbox),
        "email/patchew/0004-multiple-patch-reviewed.mbox": (5, 0, 0, .mbox),
        "email/patchew/0006-multi-part-non-utf-8.mbox": (1, 0, 0, .eml),
        "email/patchew/0016-nested-multipart.mbox": (1, 0, 0, .mbox),
        "email/patchew/0018-mime-word-recipient.mbox": (1, 0, 0, .mbox),
        "email/patchew/0035-rfc2047-from.mbox": (1, 0, 0, .eml),
        "email/patchew/LICENSE": (0, 0, 1, nil),
        "email/zbateson/m0004.txt": (1, 0, 0, .eml),
        "email/zbateson/m0005.txt": (1, 0, 0, .eml),
        "email/zbateson/m0008.txt": (1, 0, 0, .eml),
        "email/zbateson/m0010.txt": (1, 0, 0, .eml),
        "email/zbateson/m0014.txt": (1, 0, 0, .eml),
        "email/zbateson/m1002.txt": (1, 0, 0, .eml),
        "email/zbateson/m2001.txt": (1, 0, 0, .eml),
        "email/zbateson/m2003.txt": (1, 0, 0, .eml),
        "email/zbateson/LICENSE": (0, 0, 1, nil),
    ]

    @Test func samplesAreThere() {
        #expect(Samples.channelFiles.count >= 20, "samples not found under \(Samples.root.path)")
    }

    @Test(arguments: Samples.channelFiles)
    func everySampleHasAnOutcome(_ file: String) throws {
        let (outcomes, _) = try Samples.outcomes(file)
        #expect(!outcomes.isEmpty, "\(file) produced nothing")
        for outcome in outcomes {
            #expect(outcome.position.source == file)
            if let rejection = outcome.rejection {
                #expect(!rejection.reason.isEmpty)
                #expect(!rejection.raw.isEmpty, "rejection without raw bytes in \(file)")
                #expect(rejection.position.line != nil || rejection.position.index != nil)
            }
            if let message = outcome.message {
                #expect(message.problems().isEmpty)
                #expect(!message.to.isEmpty && !message.from.isEmpty)
                #expect(!message.text.isEmpty || !message.attachments.isEmpty)
            }
        }
        let isLicence = file.contains("LICENSE")
        if !isLicence {
            #expect(outcomes.contains { $0.message != nil || $0.status != nil }, "\(file) yielded only rejections")
        }
    }

    @Test(arguments: Samples.channelFiles)
    func sampleCountsAndDetectedFormat(_ file: String) throws {
        let expectation = try #require(Self.expected[file], "no expectation written down for new sample \(file)")
        let (outcomes, format) = try Samples.outcomes(file)
        #expect(outcomes.compactMap(\.message).count == expectation.messages)
        #expect(outcomes.compactMap(\.status).count == expectation.statuses)
        #expect(outcomes.compactMap(\.rejection).count == expectation.rejections)
        #expect(format == expectation.format)
        if expectation.format == nil {
            #expect(outcomes.first?.rejection?.code == .unknownFormat)
        }
    }

    /// The explicit format gives the same result as auto-detection, and `FormatDetector` agrees
    /// when it sees just the first bytes.
    @Test(arguments: Samples.channelFiles)
    func explicitFormatMatchesAuto(_ file: String) throws {
        let expectation = try #require(Self.expected[file])
        let data = try Samples.data(file)
        #expect(FormatDetector.detect(prefix: Array(data.prefix(64 << 10)), complete: data.count <= 64 << 10) == expectation.format)
        guard let format = expectation.format else { return }
        let auto = try Samples.outcomes(file).outcomes
        let explicit = try Samples.outcomes(file, format: format).outcomes
        #expect(auto == explicit)
    }

    /// Chunk boundaries anywhere must not change what comes out.
    @Test(arguments: [1, 7, 4096])
    func chunkSizeDoesNotMatter(_ chunkBytes: Int) throws {
        for file in ["email/patchew/0004-multiple-patch-reviewed.mbox", "twilio/inbound_sms_form_bodies.txt",
                     "whatsapp/pywa_message.json", "email/zbateson/m0014.txt"] {
            let data = try Samples.data(file)
            let reader = InboundReader(source: DataSource(data, chunkBytes: chunkBytes), sourceName: file)
            let chunked = try reader.readAll()
            #expect(chunked == (try Samples.outcomes(file).outcomes), "\(file) at \(chunkBytes)-byte chunks")
        }
    }
}
