// swift-tools-version:5.10
import PackageDescription

let package = Package(
    name: "georepl",
    products: [
        .executable(name: "georepl", targets: ["georepl"]),
    ],
    dependencies: [
        // ONNX's protobuf schema (Sources/ONNXProto, generated once by scripts/generate_onnx_proto.sh).
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        // CSV parsing (geo.read_csv).
        .package(url: "https://github.com/swiftcsv/SwiftCSV", exact: "0.10.0"),
    ],
    targets: [
        // System libraries from Debian packages (the quick start installs them).
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // ONNX's protobuf messages, generated from Debian's onnx.proto (libonnx-dev 1.12).
        .target(name: "ONNXProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The geometry engine: pure Swift, knows nothing of Lua.
        .target(name: "GeoEngine", dependencies: ["CBLAS", "CPNG", "CZlib", "ONNXProto", "SwiftCSV"],
                resources: [.copy("Resources/Models")]),
        // The only code that touches lua_State: the `geo` module.
        .target(name: "Bindings", dependencies: ["GeoEngine", "CLua"]),
        // The executable: REPL and script runner.
        .executableTarget(name: "georepl", dependencies: ["Bindings", "CReadline"]),
        // Benchmarks (run by hand, never timed in tests).
        .executableTarget(name: "georepl-bench", dependencies: ["GeoEngine", "ONNXProto"], path: "Sources/Benchmarks"),

        .testTarget(name: "GeoEngineTests", dependencies: ["GeoEngine"]),
        .testTarget(name: "BindingsTests", dependencies: ["Bindings", "GeoEngine", "CLua"]),
        .testTarget(name: "EndToEndTests", dependencies: ["georepl"]),
    ]
)
