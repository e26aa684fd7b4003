#!/usr/bin/env bash
# Generates the Kotlin bindings of the core from a built library into doorstep-kotlin/src/generated/kotlin.
# Usage: android/generate-bindings.sh [path/to/libdoorstep_core.so]   (default: the host debug build)
# Run from anywhere; needs `cargo build --workspace --all-targets` first. The Gradle build of the app calls it too.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
lib="${1:-}"
if [ -z "$lib" ]; then
    for candidate in "$repo/target/debug/libdoorstep_core.so" "$repo/target/debug/libdoorstep_core.dylib"; do
        [ -f "$candidate" ] && lib="$candidate" && break
    done
fi
out="$here/doorstep-kotlin/src/generated/kotlin"
[ -n "$lib" ] && [ -f "$lib" ] || { echo "error: $lib not found; run 'cargo build --workspace --all-targets' first" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
bindgen="$repo/target/debug/uniffi-bindgen"
# The workspace build makes it; `cargo run -p uniffi-bindgen` would rebuild dependencies with other features.
[ -x "$bindgen" ] || (cd "$repo" && cargo build -q --workspace --all-targets)
(cd "$repo" && "$bindgen" generate "$lib" --language kotlin --no-format --out-dir "$out")
python3 "$here/tools/fix-kotlin-error-fields.py" "$out/uniffi/doorstep_core/doorstep_core.kt"
