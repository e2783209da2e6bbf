// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "BridgeOS",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bridgeos", targets: ["bridgeos"]),
        .executable(name: "bridgeos-bench", targets: ["bridgeos-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // Build-time embedding of the top-level schema/ and locales/ folders, so the binary
        // runs from any directory and from an installed package without the source tree.
        .executableTarget(name: "bridgeos-embed", path: "Sources/bridgeos-embed"),
        .plugin(
            name: "EmbedResources",
            capability: .buildTool(),
            dependencies: ["bridgeos-embed"]
        ),
        .target(
            name: "BridgeOSResources",
            plugins: ["EmbedResources"]
        ),

        // Domain values, configuration, clock: no I/O beyond reading configuration.
        .target(
            name: "BridgeOSCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // SQLite store: AppDatabase, migrations, repositories.
        .target(
            name: "BridgeOSStorage",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSResources",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Telegram Bot API: wire types, typed errors, the HTTP client.
        .target(
            name: "BridgeOSTelegram",
            dependencies: [
                "BridgeOSCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A stand-in Bot API server on 127.0.0.1 that validates every call against the official spec.
        .target(
            name: "BridgeOSTelegramSandbox",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSTelegram",
                "BridgeOSResources",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // The long-running parts of `bridgeos serve`: pollers, intake, outbox senders, job runner.
        .target(
            name: "BridgeOSRuntime",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSTelegram",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Conversation flows: registration, invites and joining, commands, routing; UI texts in locales/.
        .target(
            name: "BridgeOSFlows",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSTelegram",
                "BridgeOSRuntime",
                "BridgeOSResources",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Translation providers behind the `Translator` seam, the prompt, and protected spans.
        .target(
            name: "BridgeOSTranslation",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSTelegram",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The translation relay: intake side (limits, storing, queueing) and the translate-and-deliver job.
        .target(
            name: "BridgeOSRelay",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSRuntime", "BridgeOSFlows", "BridgeOSTranslation",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Subscriptions with LemonSqueezy: checkout links, webhook signatures and events, what managers are told.
        .target(
            name: "BridgeOSBilling",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSRuntime", "BridgeOSFlows",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A stand-in for LemonSqueezy on 127.0.0.1 (checkout API, signed webhooks), for tests and the demo.
        .target(
            name: "BridgeOSBillingSandbox",
            dependencies: [
                "BridgeOSBilling", "BridgeOSTelegramSandbox",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HTTP side: health and readiness, Prometheus metrics, the LemonSqueezy webhook.
        .target(
            name: "BridgeOSWeb",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSRuntime",
                "BridgeOSBilling",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The admin dashboard under /admin: sessions, passwords, CSRF, server-rendered pages; alerts to the admins.
        .target(
            name: "BridgeOSDashboard",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSRuntime", "BridgeOSFlows", "BridgeOSWeb", "BridgeOSResources", "BridgeOSOperations",
                "BridgeOSTelegram",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The composition root: the appliance built from configuration, for serve, the benchmarks and the demo.
        .target(
            name: "BridgeOSApp",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSRuntime", "BridgeOSFlows", "BridgeOSTranslation",
                "BridgeOSRelay", "BridgeOSWeb", "BridgeOSOperations", "BridgeOSBilling", "BridgeOSDashboard",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `bridgeos demo`: the scripted story against the sandbox, and the /sandbox web chat.
        .target(
            name: "BridgeOSDemo",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSTranslation",
                "BridgeOSFlows", "BridgeOSWeb", "BridgeOSApp", "BridgeOSBillingSandbox", "BridgeOSDashboard",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Operator tasks: doctor (later backup, export).
        .target(
            name: "BridgeOSOperations",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSTelegram",
                "BridgeOSTranslation",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The move to PostgreSQL: the schema twins under schema/postgres/, `export` and `import`, verified by
        // per-table checksums. The only module that speaks PostgreSQL.
        .target(
            name: "BridgeOSPostgres",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSResources",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The command line: composition root for every subcommand.
        .target(
            name: "BridgeOSCLI",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSOperations",
                "BridgeOSTelegram",
                "BridgeOSRuntime",
                "BridgeOSFlows",
                "BridgeOSTranslation",
                "BridgeOSRelay",
                "BridgeOSWeb",
                "BridgeOSApp",
                "BridgeOSDemo",
                "BridgeOSPostgres",
                "BridgeOSDashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "bridgeos", dependencies: ["BridgeOSCLI"]),
        // libFuzzer's target for long local runs (docs/reliability.md); built normally it replays saved inputs.
        .executableTarget(name: "bridgeos-fuzz", dependencies: ["BridgeOSCore", "BridgeOSTelegram", "BridgeOSBilling", "BridgeOSOperations"]),
        .executableTarget(
            name: "bridgeos-bench",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSTelegram",
                "BridgeOSTelegramSandbox",
                "BridgeOSRuntime",
                "BridgeOSFlows",
                "BridgeOSApp",
                "BridgeOSOperations",
                "BridgeOSPostgres",
                "BridgeOSDashboard",
                "BridgeOSTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Helpers shared by the test targets.
        .target(
            name: "BridgeOSTestSupport",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSRuntime", "BridgeOSFlows",
                "BridgeOSPostgres", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/BridgeOSTestSupport"
        ),
        .testTarget(name: "BridgeOSCoreTests", dependencies: ["BridgeOSCore", "BridgeOSResources"]),
        .testTarget(
            name: "BridgeOSTelegramTests",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSTelegram",
                "BridgeOSTelegramSandbox",
                "BridgeOSResources",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSStorageTests",
            dependencies: [
                "BridgeOSStorage",
                "BridgeOSCore",
                "BridgeOSTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "BridgeOSRuntimeTests",
            dependencies: [
                "BridgeOSCore",
                "BridgeOSStorage",
                "BridgeOSTelegram",
                "BridgeOSTelegramSandbox",
                "BridgeOSRuntime",
                "BridgeOSTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSFlowsTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSRuntime",
                "BridgeOSFlows", "BridgeOSResources", "BridgeOSTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSRelayTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSRuntime",
                "BridgeOSFlows", "BridgeOSTranslation", "BridgeOSRelay", "BridgeOSTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSTranslationTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSTelegram", "BridgeOSTranslation", "BridgeOSTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "BridgeOSPostgresTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSPostgres", "BridgeOSResources", "BridgeOSTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSBillingTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSRuntime", "BridgeOSFlows",
                "BridgeOSBilling", "BridgeOSBillingSandbox", "BridgeOSApp", "BridgeOSTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSDashboardTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSRuntime", "BridgeOSFlows",
                "BridgeOSWeb", "BridgeOSDashboard", "BridgeOSApp", "BridgeOSTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BridgeOSCLITests",
            dependencies: [
                "BridgeOSCLI", "BridgeOSCore", "BridgeOSStorage", "BridgeOSOperations", "BridgeOSTestSupport",
                "BridgeOSTelegram", "BridgeOSTelegramSandbox",
                "BridgeOSFlows",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Seeded property-based fuzzing of what comes from outside: updates, buttons, webhooks, env files, manifests.
        .testTarget(
            name: "BridgeOSFuzzTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSRuntime", "BridgeOSBilling",
                "BridgeOSOperations", "BridgeOSApp", "BridgeOSTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Corpus"]
        ),
        // The fault suite: the real `bridgeos serve` as a child process under load while things go wrong.
        .testTarget(
            name: "BridgeOSFaultTests",
            dependencies: [
                "BridgeOSCore", "BridgeOSStorage", "BridgeOSTelegram", "BridgeOSTelegramSandbox", "BridgeOSTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ]
)

// The libFuzzer build (docs/reliability.md): `BRIDGEOS_FUZZ=1 swift build --product bridgeos-fuzz --build-path .build-fuzz`.
// BridgeOS's own library targets are compiled with libFuzzer's coverage, and only bridgeos-fuzz links libFuzzer
// (flags given with -Xswiftc would reach the build-time tool bridgeos-embed too, which cannot link it).
if Context.environment["BRIDGEOS_FUZZ"] == "1" {
    for target in package.targets where target.type == .regular || target.name == "bridgeos-fuzz" {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer"]), .define("FUZZING")]
    }
    for target in package.targets where target.name == "bridgeos-fuzz" {
        target.linkerSettings = (target.linkerSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer", "-use-ld=lld"])]
    }
}
