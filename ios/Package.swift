// swift-tools-version:5.9
// Doorstep's Swift library over the Rust core. `DoorstepCore` is the uniffi-generated Swift (placed by
// generate-bindings.sh); `doorstep_coreFFI` is the core's static library for device, simulator and macOS, as an
// XCFramework made by build-xcframework.sh; `DoorstepKit` is the wrapper apps use (async/await, AsyncStream).
import PackageDescription

let package = Package(
    name: "DoorstepKit",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "DoorstepKit", targets: ["DoorstepKit"]),
    ],
    targets: [
        .binaryTarget(name: "doorstep_coreFFI", path: "DoorstepCoreFFI.xcframework"),
        .target(
            name: "DoorstepCore",
            dependencies: ["doorstep_coreFFI"],
            path: "Sources/DoorstepCore",
            linkerSettings: [.linkedFramework("SystemConfiguration"), .linkedFramework("Security")]
        ),
        .target(name: "DoorstepKit", dependencies: ["DoorstepCore"], path: "Sources/DoorstepKit"),
        .testTarget(name: "DoorstepKitTests", dependencies: ["DoorstepKit"], path: "Tests/DoorstepKitTests"),
    ],
    swiftLanguageVersions: [.v5]
)
