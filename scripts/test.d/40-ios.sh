#!/usr/bin/env bash
# iOS side, checked without a Swift compiler: generates the Swift bindings from the host build of the core, parses
# the generated Swift, the DoorstepKit wrapper, its XCTest tests and the SwiftUI app with tree-sitter's Swift grammar
# (no syntax errors allowed), compiles the generated C header with the C compiler, and checks that the Swift wrapper
# covers every exported function. Building and running on iOS needs macOS: see ios/README.md.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"

# tree-sitter 0.25 (Python bindings) with tree-sitter-swift 0.7 (the grammar, ABI 14/15) are known to work together.
if command -v ensure_pip_packages >/dev/null; then
    ensure_pip_packages tree_sitter=tree-sitter==0.25.2 tree_sitter_swift=tree-sitter-swift==0.7.4
else
    python3 -c "import tree_sitter, tree_sitter_swift" 2>/dev/null ||
        python3 -m pip install --quiet tree-sitter==0.25.2 tree-sitter-swift==0.7.4
fi

# The workspace build (a no-op after the test command's): building one package alone would resolve dependency
# features differently and rebuild much of the tree.
cargo build -q --workspace --all-targets
bash ios/generate-bindings.sh target/debug/libdoorstep_core.so

echo "-- Swift syntax (tree-sitter-swift)"
python3 ios/tools/check-swift-syntax.py ios/Package.swift ios/Sources ios/Tests ios/App

echo "-- C header (cc -fsyntax-only)"
# Included from a translation unit, as Swift's Clang importer includes it. GCC lacks Clang's nullability
# qualifiers (_Nonnull, _Nullable), which Xcode's clang understands; they are defined away only for GCC.
nullability=()
cc --version 2>/dev/null | grep -qi clang || nullability=(-D_Nonnull= -D_Nullable=)
printf '#include "doorstep_coreFFI.h"\nint main(void) { RustCallStatus status = {0}; (void)status; return 0; }\n' |
    cc -std=c11 -Wall -Wextra -Werror -fsyntax-only "${nullability[@]}" -I ios/Generated/include -x c -
echo "doorstep_coreFFI.h compiles ($(cc --version | head -1))"
grep -q "module doorstep_coreFFI" ios/Generated/include/module.modulemap

echo "-- wrapper coverage"
python3 scripts/check-wrapper-coverage.py ios/Generated/include/doorstep_coreFFI.h --swift ios/Sources/DoorstepKit

echo "-- scripts"
bash -n ios/build-xcframework.sh ios/generate-bindings.sh
echo "ios checks passed"
