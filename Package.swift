// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

/// The read models, one line each, in the order `purser projections status` lists them: the
/// projector target's name and its folder under `projections/` (its Swift sources, with a
/// `<Name>Projector.swift` declaring `<Name>Projector`, and its `schema.sql`). This is the only
/// list of read models: the projector targets, the dependencies below and the catalog the code
/// reads (`ReadModelCatalog.projectors`, generated from this list by the ReadModelCatalogPlugin)
/// all follow from it. docs/EXTENDING.md, "Adding a read model".
let readModels: [(target: String, folder: String, uses: [Target.Dependency])] = [
    ("AgentsProjection", "agents", []),
    ("CRMProjection", "crm", []),
    ("SessionsProjection", "sessions", []),
    ("SpendProjection", "spend", []),
    ("AuditProjection", "audit", ["Tools"]),  // prints the tool catalog's sentences
    ("OutboxProjection", "outbox", []),
]

/// The projector targets, for the targets that read a model's queries (`CRMQueries`, ...).
let projectorTargets: [Target.Dependency] = readModels.map { .target(name: $0.target) }

/// A projector target at `projections/<folder>/`; its `schema.sql` is compiled into the module
/// (`PackageResources.schema_sql`), so the SQL a projector runs is the file, and nothing copies it.
func projector(_ name: String, _ folder: String, uses: [Target.Dependency] = []) -> Target {
    .target(
        name: name,
        dependencies: [
            "PurserCore",
            "Projection",
            "PurserDomain",
            .product(name: "GRDB", package: "GRDB.swift"),
        ] + uses,
        path: "projections/\(folder)",
        resources: [.embedInCode("schema.sql")],
        swiftSettings: swiftSettings
    )
}

let package = Package(
    name: "Purser",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "purser", targets: ["purser"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Projection", targets: ["Projection"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // 1.12: `LogHandler.log(event:)` with `LogEvent.error`, which the executable's JSON handler implements.
        .package(url: "https://github.com/apple/swift-log", from: "1.12.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        // Hummingbird's own dependency; declared because PurserHTTP imports NIOCore (ByteBuffer) itself.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
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
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "CPurserSupport",
            path: "Sources/CPurserSupport",
            cSettings: [.unsafeFlags(["-O3"])]
        ),

        // The bottom of the house: the timestamp, the lock box, atomic file replacement, the file
        // lock and the error shape, which every library may use and which uses none of them.
        .target(
            name: "PurserCore",
            dependencies: [],
            path: "Sources/PurserCore",
            swiftSettings: swiftSettings
        ),

        // The append-only event log: segments, frames, index, recovery, reader.
        .target(
            name: "EventLog",
            dependencies: [
                "PurserCore",
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

        // The storage seam: the protocol both stores implement (append with expected versions and
        // id de-duplication, reads by org, follow, verify, stats), the embedded log behind it, and
        // the copy between stores.
        .target(
            name: "EventStore",
            dependencies: [
                "PurserCore",
                "EventLog",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/EventStore",
            swiftSettings: swiftSettings
        ),

        // The event log in PostgreSQL: migrations, the per-org gap-free append, reads, verify.
        .target(
            name: "PostgresStore",
            dependencies: [
                "PurserCore",
                "EventLog",
                "EventStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/PostgresStore",
            swiftSettings: swiftSettings
        ),

        // Read models kept in PostgreSQL beside the events: one schema per model, checkpoints in
        // the same transaction as the rows, rebuilt into a new schema and swapped in.
        .target(
            name: "PostgresReadModels",
            dependencies: [
                "PurserCore", "EventLog", "EventStore", "PostgresStore", "PurserDomain", "Projection", "Tools", "AgentsProjection", "CRMProjection", "SessionsProjection", "SpendProjection", "AuditProjection", "OutboxProjection",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/PostgresReadModels",
            swiftSettings: swiftSettings
        ),

        // Domain model: event catalog, ontology, org_agent configuration. Channels are the
        // adapters' (`ChannelRegistry`), so the domain knows each channel's name and addresses.
        .target(
            name: "PurserDomain",
            dependencies: ["PurserCore", "Channels"],
            path: "Sources/PurserDomain",
            swiftSettings: swiftSettings
        ),

        // The projection framework: read models in SQLite (GRDB), checkpointed in the same
        // transaction as their rows, rebuilt into a new file and swapped in when their schema changes.
        .target(
            name: "Projection",
            dependencies: [
                "PurserCore",
                "EventLog",
                "EventStore",
                "CSQLite",
                "PurserDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Projection",
            swiftSettings: swiftSettings
        ),

        // One projector target per read model: `projector(...)` for each line of `readModels`,
        // added after this list.

        // The catalog of read models: `ReadModelCatalog.projectors`, the one list the pipeline,
        // the command line, the server, the bench and the tests read; its code is generated from
        // `readModels` at build time by the plugin below.
        .target(
            name: "ReadModelCatalog",
            dependencies: ["Projection"] + projectorTargets,
            path: "Sources/ReadModelCatalog",
            swiftSettings: swiftSettings,
            plugins: ["ReadModelCatalogPlugin"]
        ),
        .plugin(
            name: "ReadModelCatalogPlugin",
            capability: .buildTool(),
            dependencies: ["ReadModelCatalogGenerator"],
            path: "Plugins/ReadModelCatalogPlugin"
        ),
        .executableTarget(
            name: "ReadModelCatalogGenerator",
            path: "Plugins/ReadModelCatalogGenerator",
            swiftSettings: swiftSettings
        ),

        // Channel adapters, one per channel, listed once in ChannelRegistry: native payloads
        // (WhatsApp, Twilio, email, mbox, webchat) → inbound messages, addresses, webhook routes.
        .target(
            name: "Channels",
            dependencies: ["PurserCore"],
            path: "Sources/Channels",
            swiftSettings: swiftSettings
        ),

        // LLM providers: OpenRouter and any OpenAI-compatible server over libcurl, and the
        // offline provider; price table and token estimates for cost reservations.
        .target(
            name: "LLM",
            dependencies: ["PurserCore", "CCurl", "PurserDomain", .product(name: "Logging", package: "swift-log")],
            path: "Sources/LLM",
            swiftSettings: swiftSettings
        ),

        // A scripted OpenAI-compatible HTTP server on 127.0.0.1, for tests and benchmarks.
        .target(
            name: "LLMTestServer",
            dependencies: ["PurserCore", "PurserDomain", .product(name: "Logging", package: "swift-log")],
            path: "Sources/LLMTestServer",
            swiftSettings: swiftSettings
        ),

        // The agent's tools: the tool catalog (one entry per tool: schema, action category,
        // activity sentence, executor), the query language over the crm read model, the policy.
        .target(
            name: "Tools",
            dependencies: ["PurserCore", "PurserDomain", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Sources/Tools",
            swiftSettings: swiftSettings
        ),

        // The agent execution pipeline: inbound message → routing, contact, session, guardrails,
        // context, LLM and tool loop under the policy → reply per autonomy level; every step an event.
        .target(
            name: "Pipeline",
            dependencies: [
                "PurserCore", "EventLog", "EventStore", "PurserDomain", "Projection", "ReadModelCatalog", "Tools", "LLM", "Channels",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ] + projectorTargets,
            path: "Sources/Pipeline",
            swiftSettings: swiftSettings
        ),

        // Audit and replay: an org's history as evidence, checked against the policy then in force.
        .target(
            name: "Audit",
            dependencies: [
                "PurserCore", "EventLog", "EventStore", "PurserDomain", "Projection", "Tools",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Audit",
            swiftSettings: swiftSettings
        ),

        // The HTTP side (Hummingbird 2): the JSON API, channel webhooks, the server-sent events,
        // the OpenAPI document and the operator dashboard, over the same engine as `ingest`.
        .target(
            name: "PurserHTTP",
            dependencies: [
                "PurserCore", "Pipeline", "PurserRuntime", "EventLog", "PurserDomain", "Projection", "ReadModelCatalog", "Tools", "LLM", "Channels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // No GRDB: the HTTP side reads through the engine's async read API, never SQLite.
                .product(name: "Logging", package: "swift-log"),
            ] + projectorTargets,
            path: "Sources/PurserHTTP",
            // The operator dashboard, compiled into the module (`PackageResources.index_html`, ...)
            // so the binary serves it from wherever it runs.
            resources: [.embedInCode("Dashboard/index.html"), .embedInCode("Dashboard/app.js"), .embedInCode("Dashboard/app.css")],
            swiftSettings: swiftSettings
        ),

        // Each org's provider and channel credentials, sealed at rest with AES-GCM.
        .target(
            name: "Credentials",
            dependencies: ["PurserCore", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")],
            path: "Sources/Credentials",
            swiftSettings: swiftSettings
        ),

        // The composition root: opens the log, the read models, the providers and the tool catalog,
        // and hands out the engine's parts to the command line and the server.
        .target(
            name: "PurserRuntime",
            dependencies: ["PurserCore", "EventLog", "EventStore", "PostgresStore", "PostgresReadModels", "PurserDomain", "Pipeline", "LLM", "Credentials",
                           "Tools", .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus")],
            path: "Sources/PurserRuntime",
            swiftSettings: swiftSettings
        ),

        // The command line. Thin: one file per subcommand, calls into the libraries.
        .executableTarget(
            name: "purser",
            dependencies: [
                "PurserCore",
                "EventLog",
                "PurserDomain",
                "Projection",
                "ReadModelCatalog",
                "Tools",
                "Audit",
                "Pipeline",
                "PostgresReadModels",
                "PurserHTTP",
                "Channels",
                "LLM",
                "Credentials",
                "PostgresStore",
                "PurserRuntime",
                "EventStore",
            ] + projectorTargets + [
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/purser",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: each figure beside a baseline measured in the same run (scripts/bench.sh).
        .executableTarget(
            name: "purser-bench",
            dependencies: ["PurserCore", "EventLog", "CSQLite", "PurserDomain", "Projection", "ReadModelCatalog", "Audit", "Tools", "Pipeline", "LLM", "LLMTestServer", "Channels", "EventStore", "PostgresStore", "PostgresReadModels", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")] + projectorTargets,
            path: "Sources/PurserBench",
            swiftSettings: swiftSettings
        ),

        // What several test targets share: temporary directories, a seeded generator, running a
        // process and capturing its output. A regular target, so test targets can depend on it.
        .target(
            name: "PurserTestSupport",
            dependencies: ["PurserCore"],
            path: "Tests/PurserTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PurserCoreTests",
            dependencies: ["PurserCore"],
            path: "Tests/PurserCoreTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["PurserTestSupport", "PurserCore", "EventLog", .product(name: "Logging", package: "swift-log")],
            path: "Tests/EventLogTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventStoreTests",
            dependencies: ["EventStore", "PostgresStore", "PurserCore", "EventLog", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/EventStoreTests",
            swiftSettings: swiftSettings
        ),
        // A fresh PostgreSQL database per test on the server CI starts (`PURSER_TEST_DATABASE_URL`),
        // for every test target that needs the server.
        .target(
            name: "PostgresTestSupport",
            dependencies: ["PostgresStore", "EventStore", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/PostgresTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: ["PostgresTestSupport", "PostgresStore", "EventStore", "PurserCore", "EventLog", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/PostgresStoreTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresReadModelsTests",
            dependencies: ["PurserTestSupport", "PostgresTestSupport", "PostgresReadModels", "PostgresStore", "EventStore", "EventLog", "Projection",
                           "PurserCore", "PurserDomain", "AgentsProjection", "SessionsProjection", "SpendProjection", "AuditProjection", "OutboxProjection", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/PostgresReadModelsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CredentialsTests",
            dependencies: ["PurserTestSupport", "PostgresTestSupport", "PostgresStore", "PurserCore", "Credentials",
                           .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")],
            path: "Tests/CredentialsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PurserDomainTests",
            dependencies: ["PurserCore", "PurserDomain"],
            path: "Tests/PurserDomainTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectionTests",
            dependencies: [
                "PurserTestSupport", "PostgresTestSupport", "PurserCore", "Projection", "ReadModelCatalog", "EventLog", "EventStore", "PostgresStore", "PurserDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ] + projectorTargets,
            path: "Tests/ProjectionTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChannelsTests",
            dependencies: ["PurserCore", "Channels"],
            path: "Tests/ChannelsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LLMTests",
            dependencies: ["PurserCore", "LLM", "LLMTestServer", "PurserDomain", .product(name: "Logging", package: "swift-log")],
            path: "Tests/LLMTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ToolsTests",
            dependencies: ["PurserTestSupport", "PostgresTestSupport", "PurserCore", "Tools", "PurserDomain", "PostgresReadModels", "PostgresStore",
                           "EventStore", "EventLog", "Projection", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/ToolsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PurserRuntimeTests",
            dependencies: ["PurserTestSupport", "PostgresTestSupport", "PurserRuntime", "Pipeline", "PurserCore", "PurserDomain", "EventLog",
                           "Credentials", "PostgresStore", "LLM", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Tests/PurserRuntimeTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "PurserTestSupport", "PostgresTestSupport", "PurserCore", "Pipeline", "EventLog", "EventStore", "PostgresStore", "PostgresReadModels",
                "PurserDomain", "Projection", "Tools", "LLM", "LLMTestServer", "Channels",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ] + projectorTargets,
            path: "Tests/PipelineTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuditTests",
            dependencies: [
                "PurserTestSupport", "PostgresTestSupport", "PurserCore", "Audit", "EventLog", "EventStore", "PostgresStore", "PurserDomain", "Projection", "Tools",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ] + projectorTargets,
            path: "Tests/AuditTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PurserHTTPTests",
            dependencies: [
                "PurserTestSupport", "PostgresTestSupport", "PostgresStore", "PostgresReadModels", "PurserCore", "PurserHTTP", "Pipeline", "EventLog", "EventStore", "PurserDomain", "LLM", "LLMTestServer", "Channels", "Tools",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/PurserHTTPTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["PurserTestSupport", "PurserCore", "EventLog", "PurserDomain", "ReadModelCatalog", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/EndToEndTests",
            swiftSettings: swiftSettings
        ),
    ]
)

package.targets += readModels.map { projector($0.target, $0.folder, uses: $0.uses) }

// Fuzz targets (issue 8, "Fuzzing"): libFuzzer executables under Fuzz/<Name>/, declared only when
// PURSER_FUZZ=1 so ordinary builds and `swift test` never see them. Built and run by
// scripts/fuzz.sh with `-sanitize=fuzzer,address -parse-as-library` in .build-fuzz/.
if Context.environment["PURSER_FUZZ"] == "1" {
    func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
        .executableTarget(name: name, dependencies: dependencies, path: "Fuzz/\(name)", swiftSettings: swiftSettings)
    }
    package.targets += [
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        fuzzTarget("FuzzEventLog", ["CLibFuzzer", "PurserCore", "EventLog", "CPurserSupport", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]),
        fuzzTarget("FuzzInbound", ["CLibFuzzer", "PurserCore", "Channels"]),
        fuzzTarget("FuzzDataQuery", ["CLibFuzzer", "PurserCore", "Tools", "PurserDomain", "CRMProjection", .product(name: "GRDB", package: "GRDB.swift")]),
        fuzzTarget("FuzzAgentConfig", ["CLibFuzzer", "PurserCore", "PurserDomain", "Tools"]),
    ]
    package.products += ["FuzzEventLog", "FuzzInbound", "FuzzDataQuery", "FuzzAgentConfig"].map {
        .executable(name: $0, targets: [$0])
    }
}
