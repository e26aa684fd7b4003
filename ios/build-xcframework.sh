#!/usr/bin/env bash
# Builds the Rust core for iOS devices, the iOS simulators and macOS (for `swift test`), and assembles
# DoorstepCoreFFI.xcframework beside Package.swift, with the generated header and module map in each slice.
# Runs on macOS with Xcode and rustup. Usage: ios/build-xcframework.sh [--release]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
profile=debug
cargo_profile=()
if [ "${1:-}" = "--release" ]; then
    profile=release
    cargo_profile=(--release)
fi

[ "$(uname -s)" = "Darwin" ] || { echo "error: build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }
command -v xcodebuild >/dev/null || { echo "error: xcodebuild not found; install Xcode" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"

export IPHONEOS_DEPLOYMENT_TARGET=15.0
export MACOSX_DEPLOYMENT_TARGET=12.0
cd "$repo"
for target in "${targets[@]}"; do
    echo "==> cargo build -p doorstep-core --target $target"
    cargo build -p doorstep-core --lib --target "$target" "${cargo_profile[@]}"
done

# The bindings come from the host build (the same exported interface on every target).
cargo build -p doorstep-core --lib "${cargo_profile[@]}"
bash "$here/generate-bindings.sh" "$repo/target/$profile/libdoorstep_core.dylib"

build="$here/build"
rm -rf "$build" "$here/DoorstepCoreFFI.xcframework"
mkdir -p "$build/ios-sim" "$build/macos"
lib() { echo "$repo/target/$1/$profile/libdoorstep_core.a"; }
# One fat static library per platform: simulator (arm64 + x86_64) and macOS (arm64 + x86_64).
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$build/ios-sim/libdoorstep_core.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$build/macos/libdoorstep_core.a"

xcodebuild -create-xcframework \
    -library "$(lib aarch64-apple-ios)" -headers "$here/Generated/include" \
    -library "$build/ios-sim/libdoorstep_core.a" -headers "$here/Generated/include" \
    -library "$build/macos/libdoorstep_core.a" -headers "$here/Generated/include" \
    -output "$here/DoorstepCoreFFI.xcframework"
echo "built $here/DoorstepCoreFFI.xcframework ($profile)"
