#!/usr/bin/env bash
# Generates the Swift bindings of the core from a built library: the Swift source into Sources/DoorstepCore/ and the
# C header with its module map into Generated/include/ (build-xcframework.sh puts them in the XCFramework).
# Usage: ios/generate-bindings.sh [path/to/libdoorstep_core.(so|dylib|a)]   (default: the host debug build)
# Bindings depend only on the core's exported interface, so a Linux or macOS host build generates the same files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
lib="${1:-}"
if [ -z "$lib" ]; then
    for candidate in "$repo/target/debug/libdoorstep_core.dylib" "$repo/target/debug/libdoorstep_core.so"; do
        [ -f "$candidate" ] && lib="$candidate" && break
    done
fi
[ -n "$lib" ] && [ -f "$lib" ] || { echo "error: no built core; run 'cargo build --workspace --all-targets' first" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bindgen="$repo/target/debug/uniffi-bindgen"
# The workspace build makes it; `cargo run -p uniffi-bindgen` would rebuild dependencies with other features.
[ -x "$bindgen" ] || (cd "$repo" && cargo build -q --workspace --all-targets)
(cd "$repo" && "$bindgen" generate "$lib" --language swift --no-format --out-dir "$tmp")
mkdir -p "$here/Sources/DoorstepCore"
cp "$tmp/doorstep_core.swift" "$here/Sources/DoorstepCore/doorstep_core.swift"
mkdir -p "$here/Generated/include"
cp "$tmp/doorstep_coreFFI.h" "$here/Generated/include/doorstep_coreFFI.h"
# An XCFramework's Headers directory carries its module map under the standard name.
cp "$tmp/doorstep_coreFFI.modulemap" "$here/Generated/include/module.modulemap"
echo "Swift bindings generated from $lib"
