// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "Purser",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "purser", targets: ["purser"]),
        .library(name: "EventLog", targets: ["EventLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
    ],
    targets: [
        // C libraries, each behind its own C… target.
        .systemLibrary(
            name: "CLZ4",
            path: "Sources/CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "CPurserSupport",
            path: "Sources/CPurserSupport",
            cSettings: [.unsafeFlags(["-O3"])]
        ),

        // The append-only event log: segments, frames, index, recovery, reader.
        .target(
            name: "EventLog",
            dependencies: [
                "CLZ4",
                "CPurserSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "eventlog",
            exclude: ["FORMAT.md", "EVENTS.md"],
            sources: ["Sources"],
            swiftSettings: swiftSettings
        ),

        // Domain model: event catalog, ontology, org_agent configuration.
        .target(
            name: "PurserDomain",
            dependencies: [],
            path: "Sources/PurserDomain",
            swiftSettings: swiftSettings
        ),

        // Channel adapters: native payloads (WhatsApp, Twilio, email, mbox, webchat) → inbound messages.
        .target(
            name: "Channels",
            dependencies: [],
            path: "Sources/Channels",
            swiftSettings: swiftSettings
        ),

        // The command line. Thin: one file per subcommand, calls into the libraries.
        .executableTarget(
            name: "purser",
            dependencies: [
                "EventLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/purser",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: each figure beside a baseline measured in the same run (scripts/bench.sh).
        .executableTarget(
            name: "purser-bench",
            dependencies: ["EventLog", "CSQLite", .product(name: "Logging", package: "swift-log")],
            path: "Sources/PurserBench",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", .product(name: "Logging", package: "swift-log")],
            path: "Tests/EventLogTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PurserDomainTests",
            dependencies: ["PurserDomain"],
            path: "Tests/PurserDomainTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChannelsTests",
            dependencies: ["Channels"],
            path: "Tests/ChannelsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["EventLog"],
            path: "Tests/EndToEndTests",
            swiftSettings: swiftSettings
        ),
    ]
)
