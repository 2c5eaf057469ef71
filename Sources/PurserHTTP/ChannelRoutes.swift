import Channels
import Foundation
import Hummingbird

/// `GET /api/channels`: the channel registry, so the dashboard's channel choices (the sessions
/// filter, an agent's channel bindings) come from the one list of channels, not a copy in the page.
struct ChannelRoutes {
    func register(_ api: RouterGroup<PurserRequestContext>) {
        api.get("channels") { _, context -> Response in
            guard context.token != nil else { return Reply.error(.unauthorized, "unauthorized", "no token") }
            return Reply.json(ChannelListing(ChannelRegistry.adapters))
        }
    }
}

/// The answer of `GET /api/channels`, in registry order.
struct ChannelListing: Codable, Sendable, OpenAPIDescribed {
    struct Channel: Codable, Sendable {
        /// The name in inputs, events, session filters and `channelBindings`.
        var name: String
        /// The name for people.
        var label: String
    }

    var channels: [Channel]

    init(_ adapters: [any ChannelAdapter]) {
        channels = adapters.map { Channel(name: $0.channel.rawValue, label: $0.label) }
    }

    static var schema: Schema {
        .object(["channels": .array(.object([
            "name": .string("the name in inputs, events, session filters and channelBindings",
                            enumeration: ChannelRegistry.adapters.map(\.channel.rawValue)),
            "label": .string("the channel's name for people"),
        ], required: ["name", "label"]))], required: ["channels"])
    }
}
