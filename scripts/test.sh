#!/usr/bin/env bash
# Doorstep's test command: installs what the tests need on a fresh Debian machine, builds the workspace, runs every
# Rust test, then every step in scripts/test.d/*.sh in name order. It stops at the first failure and always ends with
# one summary line `doorstep: N passed, M failed` (N counts the Rust test suites and the steps that passed).
#
# Steps in scripts/test.d/ are run with `bash`, from the repository root, and may use:
#   ensure_debian_packages PKG...  installs the Debian packages that are missing (apt-get update at most once a run);
#   ensure_pip_packages MODULE=PKG... installs PyPI packages whose module does not import;
#   $DOORSTEP_ROOT (the repository), $DOORSTEP_TEST_OUT (target/test-out: logs, screenshots, generated files).
# Everything is idempotent: a second run on a prepared machine installs nothing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOORSTEP_ROOT="$PWD"
export DOORSTEP_TEST_OUT="$DOORSTEP_ROOT/target/test-out"
mkdir -p "$DOORSTEP_TEST_OUT"
export CARGO_TERM_PROGRESS_WHEN=never
rm -f "$DOORSTEP_TEST_OUT/.apt-updated"

passed=0
failed=0
run_start=$SECONDS

summary() {
    echo "doorstep: $passed passed, $failed failed"
}

# Runs root-only commands directly as root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
export -f as_root

ensure_debian_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}"
    if [ ! -e "$DOORSTEP_TEST_OUT/.apt-updated" ]; then
        as_root apt-get update -qq || return 1
        touch "$DOORSTEP_TEST_OUT/.apt-updated"
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
}
export -f ensure_debian_packages

ensure_pip_packages() {
    local spec module pkg
    for spec in "$@"; do
        module="${spec%%=*}"
        pkg="${spec#*=}"
        python3 -c "import $module" 2>/dev/null && continue
        echo "installing PyPI package: $pkg"
        # Debian's Python refuses plain `pip install` outside a venv (PEP 668); the test machine is disposable.
        python3 -m pip install --quiet --disable-pip-version-check "$pkg" 2>/dev/null ||
            python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$pkg" || return 1
    done
}
export -f ensure_pip_packages

# Runs one step; on failure prints the summary and stops the whole run. A step is one command (a script run with
# `bash` has its own `set -e`); a shell function used as a step must check its commands itself (`|| return 1`),
# because bash ignores `set -e` inside a function called as an `if` condition.
step() {
    local name="$1" start=$SECONDS
    shift
    echo "==> $name"
    if "$@"; then
        passed=$((passed + 1))
        echo "ok: $name ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        echo "FAILED: $name"
        summary
        exit 1
    fi
}

prerequisites() {
    if ! command -v cargo >/dev/null; then
        echo "cargo is missing: install Rust 1.85 or newer (https://rustup.rs) and run again" >&2
        return 1
    fi
    ensure_debian_packages build-essential pkg-config python3 python3-pip
    # Node.js and npm: a Rust test drives the JavaScript Automerge as a third-party client (tests/js).
    command -v npm >/dev/null || ensure_debian_packages nodejs npm
}

# Runs the workspace's tests and counts each test suite that passed (one `test result: ok` line each).
rust_tests() {
    local log="$DOORSTEP_TEST_OUT/cargo-test.log" suites
    cargo test --workspace 2>&1 | tee "$log" || return 1
    suites=$(grep -c '^test result: ok' "$log" || true)
    [ "$suites" -gt 0 ] || return 1
    # This step counts once in step(); the other suites are added here.
    passed=$((passed + suites - 1))
    echo "$suites Rust test suites passed"
}

step "prerequisites" prerequisites
step "cargo build --workspace --all-targets" cargo build --workspace --all-targets
step "cargo test --workspace" rust_tests
for script in scripts/test.d/*.sh; do
    [ -e "$script" ] || continue
    step "$script" bash "$script"
done

echo "all steps passed in $((SECONDS - run_start)) s"
summary
