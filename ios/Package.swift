// swift-tools-version:5.9
// Doorstep's Swift library over the Rust core. `DoorstepCore` is the uniffi-generated Swift (placed by
// generate-bindings.sh); `doorstep_coreFFI` is the core's static library for device, simulator and macOS, as an
// XCFramework made by build-xcframework.sh; `DoorstepKit` is the wrapper apps use (async/await, AsyncStream);
// `DoorstepAppLogic` holds the app's view models, kept out of the app so that XCTest runs them.
import PackageDescription

let package = Package(
    name: "DoorstepKit",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "DoorstepKit", targets: ["DoorstepKit"]),
        .library(name: "DoorstepAppLogic", targets: ["DoorstepAppLogic"]),
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
        .target(name: "DoorstepAppLogic", dependencies: ["DoorstepKit"], path: "Sources/DoorstepAppLogic"),
        .testTarget(name: "DoorstepKitTests", dependencies: ["DoorstepKit"], path: "Tests/DoorstepKitTests"),
        .testTarget(
            name: "DoorstepAppLogicTests",
            dependencies: ["DoorstepAppLogic", "DoorstepKit"],
            path: "Tests/DoorstepAppLogicTests"
        ),
    ],
    swiftLanguageVersions: [.v5]
)
