#!/usr/bin/env bash
# Redraws every screen (Chinese and English, 390 x 844 dp) and replaces the pictures in docs/screens/ with them.
# Run after changing a screen, then commit docs/screens/. The test command fails while the committed set differs
# in names from what the screenshot test draws. Needs the host build of the core (cargo build --workspace).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -f android/doorstep-kotlin/src/generated/kotlin/uniffi/doorstep_core/doorstep_core.kt ] ||
    bash android/generate-bindings.sh target/debug/libdoorstep_core.so
cd android
mvn -B -q --no-transfer-progress test -pl ui -am -Dtest=ScreenshotTest -Dsurefire.failIfNoSpecifiedTests=false \
    -Ddoorstep.screens.update=true
ls "$root/docs/screens"
