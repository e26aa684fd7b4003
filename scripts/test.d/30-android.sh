#!/usr/bin/env bash
# Android side, on the desktop JVM: generates the Kotlin bindings from the host build of the core, checks that the
# Kotlin wrapper covers every exported function, and runs the Maven build's tests: JUnit 5 in doorstep-kotlin (a real
# encrypted store and a real doorstep-server on 127.0.0.1) and app-logic (view models); JUnit 4 Compose UI tests in
# ui (the screens driven headless, and every screen drawn to PNG in Chinese and English, checked against
# docs/screens/) and desktop (the desktop program's platform). Maven downloads its plugins and dependencies (Compose
# Multiplatform from Maven Central) once into ~/.m2. The full Maven log is kept in $DOORSTEP_TEST_OUT/android-mvn.log.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"
out="${DOORSTEP_TEST_OUT:-target/test-out}"
mkdir -p "$out"
start=$SECONDS

if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
    if command -v ensure_debian_packages >/dev/null; then
        ensure_debian_packages maven default-jdk-headless
    else
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven default-jdk-headless
    fi
fi

# Compose draws headless through Skia (skiko), whose native library links libGL, libX11 and fontconfig even when no
# display is used; Chinese text in the screen pictures needs a CJK font (Compose draws with the machine's fonts).
if command -v ensure_debian_packages >/dev/null; then
    ensure_debian_packages fonts-noto-cjk libgl1 libx11-6 libfontconfig1
fi

# The workspace build (a no-op after the test command's): building one package alone would resolve dependency
# features differently and rebuild much of the tree.
cargo build -q --workspace --all-targets
[ -x target/debug/doorstep-server ] ||
    echo "warning: target/debug/doorstep-server is missing; build the workspace first or the sync tests are skipped"
bash android/generate-bindings.sh target/debug/libdoorstep_core.so

# Coverage: the exported surface comes from the C header of the Swift bindings (the same metadata).
hdr="$out/bindings-header"
rm -rf "$hdr"
target/debug/uniffi-bindgen generate target/debug/libdoorstep_core.so --language swift --no-format --out-dir "$hdr"
python3 scripts/check-wrapper-coverage.py "$hdr/doorstep_coreFFI.h" --kotlin android/doorstep-kotlin/src/main/kotlin
# The check itself must fail, naming the function, when the core grows a function nobody wrapped.
printf 'RustBuffer uniffi_doorstep_core_fn_func_brand_new_thing(RustCallStatus *_Nonnull out_status);\n' \
    >"$hdr/with-new-function.h"
cat "$hdr/doorstep_coreFFI.h" >>"$hdr/with-new-function.h"
if python3 scripts/check-wrapper-coverage.py "$hdr/with-new-function.h" --kotlin android/doorstep-kotlin/src/main/kotlin \
    2>"$hdr/check.err"; then
    echo "error: the coverage check passed a function without a wrapper" >&2
    exit 1
fi
grep -q "brand_new_thing" "$hdr/check.err"
echo "coverage check refuses an unwrapped function: $(cat "$hdr/check.err")"

# The Compose app needs the Android SDK to compile; here its sources and Gradle scripts must at least parse.
if command -v ensure_pip_packages >/dev/null; then
    ensure_pip_packages tree_sitter=tree-sitter==0.25.2 tree_sitter_kotlin=tree-sitter-kotlin==1.1.0
else
    python3 -c "import tree_sitter, tree_sitter_kotlin" 2>/dev/null ||
        python3 -m pip install --quiet tree-sitter==0.25.2 tree-sitter-kotlin==1.1.0
fi
echo "Compose app sources (tree-sitter-kotlin):"
python3 android/tools/check-kotlin-syntax.py android/app

log="$out/android-mvn.log"
status=0
(cd android && mvn -B --no-transfer-progress test \
    -Ddoorstep.lib.dir="$PWD/../target/debug" -Ddoorstep.server.bin="$PWD/../target/debug/doorstep-server") \
    >"$log" 2>&1 || status=$?

# Surefire's per-class and per-module summaries, then each test by name.
grep -E "Tests run:|BUILD|\[ERROR\]|FAIL" "$log" | grep -v "^\[ERROR\] *$" | head -80
python3 - android <<'PY'
import pathlib, sys, xml.etree.ElementTree as ET
for report in sorted(pathlib.Path(sys.argv[1]).glob("*/target/surefire-reports/TEST-*.xml")):
    for case in ET.parse(report).getroot().iter("testcase"):
        state = "FAIL" if case.find("failure") is not None or case.find("error") is not None else \
            "SKIP" if case.find("skipped") is not None else "ok  "
        print(f"  {state} {case.get('classname').rsplit('.', 1)[-1]} > {case.get('name')}")
PY
if [ "$status" -ne 0 ]; then
    echo "Maven failed; the last lines of $log:" >&2
    tail -60 "$log" >&2
fi
echo "android step took $((SECONDS - start)) s"
exit "$status"
