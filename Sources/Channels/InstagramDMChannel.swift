extension Channel {
    public static let instagramDM = Channel(declaring: "instagram_dm")
}

/// Instagram direct messages: handles as addresses (case-insensitive, a leading `@` dropped).
/// No reader or webhook yet; messages arrive as normalized JSON Lines.
public struct InstagramDMChannel: ChannelAdapter {
    public init() {}

    public var channel: Channel { .instagramDM }
    public var label: String { "Instagram DM" }
    public var addressKind: AddressKind { .identifier(contactProperty: "instagram", handlePrefix: "@") }
}
