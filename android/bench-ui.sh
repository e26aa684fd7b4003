#!/usr/bin/env bash
# The app's own speed benchmark: opens a store of 800 households and 10,000 documents to the drawn household list
# (headless, 390x844 dp), scrolls it to its end, and prints the figures beside the baseline measured in the same run
# (the core's household list query). The fixture store is built once into the fixture dir and reused.
# Usage: bash android/bench-ui.sh [fixture-dir]   (default: android/desktop/target/bench-ui)
# DOORSTEP_PROFILE=release uses an optimised build of the core (cargo build --release), as a phone would ship.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profile="${DOORSTEP_PROFILE:-debug}"
cd "$root"
if [ "$profile" = release ]; then cargo build -q --release -p doorstep-core --lib; else cargo build -q -p doorstep-core --lib; fi
cargo build -q -p uniffi-bindgen
bash android/generate-bindings.sh "target/$profile/libdoorstep_core.so" >/dev/null
cd android
mvn -B -q --no-transfer-progress install -DskipTests -pl desktop -am
cp_file="$root/android/desktop/target/bench-classpath.txt"
mvn -B -q --no-transfer-progress -pl desktop dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null
exec java -Djava.awt.headless=true -Djna.library.path="$root/target/$profile" \
    -cp "desktop/target/classes:$(cat "$cp_file")" \
    app.doorstep.desktop.HouseholdListBenchmarkKt "${1:-desktop/target/bench-ui}"
