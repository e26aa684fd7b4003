#!/usr/bin/env bash
# The core's bindings: Kotlin, Swift and Python generate from the built library, and the Python test drives the
# generated module through the real library (open, save, list, a validation error naming its field, a wrong key).
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"

lib=target/debug/libdoorstep_core.so
bindgen=target/debug/uniffi-bindgen
# The same build as the test command's (a no-op after it). Not `cargo build -p doorstep-core` or `cargo run -p
# uniffi-bindgen`: selecting one package resolves dependency features differently from the whole workspace, and
# cargo would then rebuild a large part of the dependency tree a second time.
cargo build -q --workspace --all-targets
test -f "$lib"
test -x "$bindgen"

for lang in kotlin swift python; do
    out="target/bindings/$lang"
    rm -rf "$out"
    "$bindgen" generate "$lib" --language "$lang" --no-format --out-dir "$out"
done

# Each generator must have produced its source, and each must carry the core's main object.
grep -q "class Doorstep" target/bindings/kotlin/uniffi/doorstep_core/doorstep_core.kt
grep -q "class Doorstep" target/bindings/swift/doorstep_core.swift
test -f target/bindings/swift/doorstep_coreFFI.h
grep -q "class Doorstep" target/bindings/python/doorstep_core.py

# Python loads the library placed beside the generated module.
cp "$lib" target/bindings/python/
command -v ensure_pip_packages >/dev/null && ensure_pip_packages pytest=pytest
DOORSTEP_PY_BINDINGS="$PWD/target/bindings/python" python3 -m pytest -q -p no:cacheprovider tests/python
