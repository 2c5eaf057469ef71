/// Size limits applied while reading inbound input.
///
/// They bound memory (a stream is never held whole, and one line or mail is held only up to its
/// limit) and keep absurd payloads out of the log and the LLM context. `standard` holds the
/// defaults; tests and callers with other needs pass their own values.
public struct ChannelLimits: Sendable, Hashable {
    /// One JSON line or Twilio form line; longer lines are rejected without being buffered whole.
    public var lineBytesMax: Int
    /// One WhatsApp or webchat webhook body given as a (possibly pretty-printed) JSON document.
    public var webhookBodyBytesMax: Int
    /// One mail, as a `.eml` file or one message of an mbox.
    public var emailMessageBytesMax: Int
    /// The text of one normalized message. Longer JSON-line or webhook text is rejected; longer
    /// mail bodies are cut (mail routinely carries quoted history the agent does not need).
    public var messageTextBytesMax: Int
    /// `to` and `from` (RFC 5321 caps a mail path at 256 octets; phone numbers are far shorter).
    public var addressBytesMax: Int
    /// `contactName`; longer names are cut rather than rejected.
    public var contactNameBytesMax: Int
    /// `externalMessageId`, `inReplyTo` and each of `references`.
    public var externalMessageIdBytesMax: Int
    /// `subject`; longer subjects are cut.
    public var subjectBytesMax: Int
    /// How much of a rejected input is kept as its raw bytes (the rest is counted, not stored).
    public var rawBytesKeptMax: Int
    /// How much of the input `auto` looks at before deciding on a format.
    public var detectionPeekBytesMax: Int
    /// Nesting depth of MIME multiparts followed before deeper parts are treated as opaque.
    public var mimeNestingDepthMax: Int
    /// MIME parts looked at in one mail.
    public var mimePartsMax: Int
    /// Bytes requested from the source per read.
    public var readChunkBytes: Int

    public init(
        lineBytesMax: Int = 1 << 20,
        webhookBodyBytesMax: Int = 4 << 20,
        emailMessageBytesMax: Int = 32 << 20,
        messageTextBytesMax: Int = 64 << 10,
        addressBytesMax: Int = 320,
        contactNameBytesMax: Int = 256,
        externalMessageIdBytesMax: Int = 1024,
        subjectBytesMax: Int = 1024,
        rawBytesKeptMax: Int = 256 << 10,
        detectionPeekBytesMax: Int = 64 << 10,
        mimeNestingDepthMax: Int = 16,
        mimePartsMax: Int = 512,
        readChunkBytes: Int = 64 << 10
    ) {
        self.lineBytesMax = lineBytesMax
        self.webhookBodyBytesMax = webhookBodyBytesMax
        self.emailMessageBytesMax = emailMessageBytesMax
        self.messageTextBytesMax = messageTextBytesMax
        self.addressBytesMax = addressBytesMax
        self.contactNameBytesMax = contactNameBytesMax
        self.externalMessageIdBytesMax = externalMessageIdBytesMax
        self.subjectBytesMax = subjectBytesMax
        self.rawBytesKeptMax = rawBytesKeptMax
        self.detectionPeekBytesMax = detectionPeekBytesMax
        self.mimeNestingDepthMax = mimeNestingDepthMax
        self.mimePartsMax = mimePartsMax
        self.readChunkBytes = readChunkBytes
    }

    /// The defaults used by `purser ingest` and the webhooks.
    public static let standard = ChannelLimits()
}
