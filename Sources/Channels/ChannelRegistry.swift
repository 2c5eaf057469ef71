/// The channels Purser takes: the only list of them.
///
/// The order is the order messages list channels and formats in, and the order `--format auto`
/// tries the formats' detections in.
public enum ChannelRegistry {
    public static let adapters: [any ChannelAdapter] = [
        WhatsAppChannel(),
        EmailChannel(),
        WebchatChannel(),
        SMSChannel(),
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
