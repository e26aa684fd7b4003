#!/usr/bin/env bash
# Starts Doorstep's desktop program: the same screens as the Android app, in a window, over the host build of the
# core. Builds what it needs first (the core library, the Kotlin bindings, the Maven modules up to android/desktop).
# Usage: bash android/run-desktop.sh [data-dir]   (default data dir: ~/.local/share/doorstep)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build -q -p doorstep-core --lib
cargo build -q -p uniffi-bindgen
bash android/generate-bindings.sh target/debug/libdoorstep_core.so >/dev/null
cd android
mvn -B -q --no-transfer-progress install -DskipTests -pl desktop -am
cp_file="$PWD/desktop/target/classpath.txt"
mvn -B -q --no-transfer-progress -pl desktop dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null
exec java -Djna.library.path="$root/target/debug" -cp "desktop/target/classes:$(cat "$cp_file")" \
    app.doorstep.desktop.MainKt "$@"
