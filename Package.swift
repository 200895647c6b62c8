// swift-tools-version: 6.1
// SegHub: cell- and spheroid-segmentation hub.
import Foundation
import PackageDescription

// Release builds of the hot paths (tracing, decoding, segmentation) are measured with a plain
// `swift build -c release`, so the optimisation settings live here rather than on a command line.
let coreSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

var package = Package(
    name: "SegHub",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SegCore", targets: ["SegCore"]),
        .library(name: "SegStorage", targets: ["SegStorage"]),
        .library(name: "SegAuth", targets: ["SegAuth"]),
        .library(name: "SegHTTP", targets: ["SegHTTP"]),
        .library(name: "SegInference", targets: ["SegInference"]),
        .library(name: "SegMail", targets: ["SegMail"]),
        .executable(name: "segctl", targets: ["segctl"]),
        .executable(name: "segserver", targets: ["segserver"]),
        .executable(name: "seg-bare-http", targets: ["seg-bare-http"]),
    ],
    dependencies: [
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", exact: "0.9.20"),
    ],
    targets: [
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"])]
        ),
        .systemLibrary(
            name: "CPNG",
            pkgConfig: "libpng16",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CTIFF",
            pkgConfig: "libtiff-4",
            providers: [.apt(["libtiff-dev"])]
        ),
        // The only place where setjmp/longjmp happen: libjpeg's and libpng's error paths never
        // cross a Swift frame. libtiff's errors come through per-handle handlers set here too.
        .target(
            name: "CSegShim",
            dependencies: ["CJPEG", "CPNG", "CTIFF"],
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        .target(
            name: "SegCore",
            dependencies: ["CSegShim", "CJPEG", "CPNG", "CTIFF"],
            swiftSettings: coreSwiftSettings
        ),
        // PostgreSQL: migrations now; repositories, the job queue and the file store later.
        // No Hummingbird type may appear here (DESIGN.md section 1).
        .target(
            name: "SegStorage",
            dependencies: [
                "SegS3",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
            ],
            resources: [.copy("Migrations/SQL")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Passwords (bcrypt on a thread pool), JWT access tokens, refresh-token rotation, permissions.
        .target(
            name: "SegAuth",
            dependencies: [
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // An S3-compatible object store client: Signature Version 4, objects, multipart uploads, listings.
        .target(
            name: "SegS3",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // The Hummingbird application: routes, middleware, workers. No Hummingbird type goes below this module.
        .target(
            name: "SegHTTP",
            dependencies: [
                "SegMail",
                "SegCore",
                "SegInference",
                "SegStorage",
                "SegAuth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/web"), .copy("Resources/mail")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Test helpers shared by the test targets: `withTestDatabase { client in ... }`.
        .target(
            name: "SegTestSupport",
            dependencies: [
                "SegStorage",
                "SegS3",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "segserver",
            dependencies: [
                "SegCore",
                "SegHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Deep-learning segmenters behind any Open Inference Protocol (KServe v2) server: the REST client, the model
        // registry, pre- and post-processing. No SegStorage or Hummingbird, so other Swift tools can use it.
        .target(
            name: "SegInference",
            dependencies: [
                "SegCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "segctl",
            dependencies: [
                "SegCore",
                "SegInference",
                "SegStorage",
                "SegAuth",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Outgoing mail: RFC 5322/MIME messages and an SMTP client over SwiftNIO with NIOSSL (no SMTP library is available).
        .target(
            name: "SegMail",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // The SMTP tests need a mail server: SEG_TEST_SMTP_DIR (scripts/dev/smtp.sh, started by scripts/test.sh); they fail,
        // never skip, without it.
        .testTarget(
            name: "SegS3Tests",
            dependencies: ["SegS3"],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(
            name: "SegMailTests",
            dependencies: [
                "SegMail", "SegTestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The live tests need an inference server: SEG_TEST_INFERENCE_URL (scripts/test.sh starts one); they fail,
        // never skip, without it.
        .testTarget(
            name: "SegInferenceTests",
            dependencies: ["SegInference", "SegCore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "SegCoreTests",
            dependencies: ["SegCore"],
            resources: [.copy("Fixtures")]
        ),
        // Runs the built `segctl` binary end to end (exit codes, stdout/stderr, files written).
        .testTarget(
            name: "SegCtlTests",
            dependencies: [
                "segctl", "SegCore", "SegTestSupport", "SegStorage", "SegS3", "SegAuth", "SegHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // Needs PostgreSQL: SEG_TEST_DATABASE_URL (scripts/test.sh sets it); fails, never skips, without it.
        .testTarget(
            name: "SegStorageTests",
            dependencies: [
                "SegS3",
                "SegStorage",
                "SegTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "SegHTTPTests",
            dependencies: [
                "SegHTTP",
                "SegMail",
                "SegS3",
                "SegInference",
                "SegStorage",
                "SegAuth",
                "SegTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .testTarget(
            name: "SegAuthTests",
            dependencies: [
                "SegAuth",
                "SegStorage",
                "SegTestSupport",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The baseline of scripts/bench/bench-http.sh: a bare Hummingbird route without our middleware.
        .executableTarget(
            name: "seg-bare-http",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/BareHTTP"
        ),
    ],
    swiftLanguageModes: [.v6]
)

// A container build copies only Package.swift, Sources and Benchmarks (.dockerignore), and SwiftPM
// refuses a manifest whose target folders are missing: test targets are declared only when their
// folder is there (`scripts/checks/test-image.sh` builds the image from exactly that context).
package.targets.removeAll { target in
    target.type == .test
        && !FileManager.default.fileExists(atPath: Context.packageDirectory + "/Tests/" + target.name)
}

// package-benchmark is only resolved when benchmarks are wanted (SEGHUB_BENCHMARKS=1), so plain
// builds and CI do not build it (the same gate Hummingbird uses).
if ProcessInfo.processInfo.environment["SEGHUB_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"])
    )
    package.targets.append(
        .executableTarget(
            name: "SegCoreBenchmarks",
            dependencies: [
                "SegCore",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/SegCoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    )
}

// libFuzzer targets (Fuzz/README.md): only with SEGHUB_FUZZ=1, built with
// `swift build -c debug --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address --product FuzzSegCore`.
if ProcessInfo.processInfo.environment["SEGHUB_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "FuzzSegCore",
            dependencies: ["SegCore"],
            path: "Fuzz/FuzzSegCore",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    )
    package.products.append(.executable(name: "FuzzSegCore", targets: ["FuzzSegCore"]))
}
