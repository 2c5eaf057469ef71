/// The channels Purser takes: the only list of them.
///
/// `--format auto` consults the adapters' formats in this order, so a format recognised by its
/// first line is tried before the ones after it (Twilio form bodies before mail headers).
public enum ChannelRegistry {
    public static let adapters: [any ChannelAdapter] = [
        WhatsAppChannel(),
        SMSChannel(),
        EmailChannel(),
        WebchatChannel(),
        InstagramDMChannel(),
    ]

    /// The adapter of `channel`.
    public static func adapter(for channel: Channel) -> (any ChannelAdapter)? {
        adapters.first { $0.channel == channel }
    }

    /// Every format of every channel, in registry order.
    public static let formats: [ChannelFormat] = adapters.flatMap { $0.formats }

    /// The format named `format`.
    public static func format(_ format: InputFormat) -> ChannelFormat? {
        formats.first { $0.format == format }
    }
}
