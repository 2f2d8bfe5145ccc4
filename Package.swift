// swift-tools-version:6.0
import PackageDescription

/// One set of compiler settings for every target: Swift 6 mode (complete strict
/// concurrency checking) plus the upcoming features we already write against.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// SwiftPM hands pkg-config's flags to Swift targets only, not to C++ ones, so the C++
/// shim finds llama.cpp's common headers through the same PKG_CONFIG_PATH the Makefile
/// exports (`$prefix/lib/pkgconfig` → `$prefix/include/llama-common`).
let commonHeaders: [String] = (Context.environment["PKG_CONFIG_PATH"] ?? "")
    .split(separator: ":").map { "-I\($0)/../../include/llama-common" }

let package = Package(
    name: "corral",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "corral", targets: ["corral"]),
    ],
    // Exact versions: Package.resolved is not committed (git ignores it on the machines
    // that build Corral), so the versions are pinned here, and the image records the
    // resolved graph, transitive packages included (scripts/stage-image.sh).
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", exact: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", exact: "2.1.0"),
    ],
    targets: [
        // The engine, built by scripts/bootstrap-engine.sh and found through pkg-config
        // (llama-common.pc pulls in llama.pc).
        .systemLibrary(name: "CLlama", pkgConfig: "llama-common"),
        // A C face for llama.cpp's C++ common library (the JSON-schema-to-grammar
        // converter), so no C++ type reaches Swift. Only LlamaEngine imports it.
        .target(
            name: "CLlamaCommon",
            dependencies: ["CLlama"],
            cxxSettings: [.unsafeFlags(commonHeaders)]
        ),
        // The KV events' wire: libzmq (loaded with dlopen when events are on) and
        // msgpack-c's header-only packer. Only LlamaEngine imports it.
        .target(
            name: "CEventWire",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Pure Swift, no dependencies: tokens, sampling parameters, logprobs, the
        // detokenizer, and the executor protocol the scheduler drives.
        .target(
            name: "CorralCore",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LlamaEngine",
            dependencies: ["CorralCore", "CLlama", "CLlamaCommon", "CEventWire"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Scheduler",
            dependencies: ["CorralCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralBench",
            dependencies: [
                "CorralCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CorralServer",
            dependencies: [
                "CorralCore",
                "Scheduler",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // The serving assembly on llama.cpp: loading, KV sizing from free memory, wiring
        // the engine to the scheduler behind the routes.
        .target(
            name: "CorralEngine",
            dependencies: ["CorralCore", "CorralServer", "LlamaEngine", "Scheduler"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "corral",
            dependencies: [
                "CorralBench",
                "CorralCore",
                "CorralEngine",
                "LlamaEngine",
                "Scheduler",
                "CorralServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LlamaEngineTests",
            dependencies: ["LlamaEngine", "CorralCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralBenchTests",
            dependencies: ["CorralBench", "LlamaEngine", "CorralCore"],
            swiftSettings: swiftSettings
        ),
        // The scheduler alone, on the simulated executor: no libllama on the link line.
        .testTarget(
            name: "SchedulerTests",
            dependencies: ["Scheduler", "CorralCore"],
            swiftSettings: swiftSettings
        ),
        // The scheduler driving the real engine.
        .testTarget(
            name: "EngineSchedulingTests",
            dependencies: ["Scheduler", "LlamaEngine", "CorralCore"],
            swiftSettings: swiftSettings
        ),
        // Loading and sizing on the host: CPU budget, memory.
        .testTarget(
            name: "CorralEngineTests",
            dependencies: ["CorralEngine", "CorralServer"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CorralServerTests",
            dependencies: [
                "CorralServer",
                "CorralCore",
                "CorralEngine",
                "LlamaEngine",
                "Scheduler",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // The routes on a fake model and the simulated executor: no GGUF, no libllama.
        .testTarget(
            name: "RouteTests",
            dependencies: [
                "CorralServer",
                "CorralCore",
                "Scheduler",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    cxxLanguageStandard: .cxx17
)
