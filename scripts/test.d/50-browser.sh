#!/usr/bin/env bash
# The supervisors' pages in a real browser: Debian's headless chromium driven by the npm package playwright-core
# (which downloads no browser), against `doorstep-server demo --size small` on a loopback port. Screenshots and the
# downloaded ledger land in tests/out/. Node's own test runner prints the summary lines.
set -euo pipefail
cd "${DOORSTEP_ROOT:-$(dirname "${BASH_SOURCE[0]}")/../..}"

# chromium-driver comes with chromium on Debian; a CJK font so that screenshots show Chinese, not boxes; poppler-utils
# (pdfinfo, pdftotext) so that the print tests read the page count and the words of the PDFs Chromium prints.
packages=(chromium chromium-driver fonts-wqy-zenhei poppler-utils)
# Node and npm: Debian's packages, unless a Node is there already (it may come from elsewhere, with its own npm).
command -v npm >/dev/null || packages+=(nodejs npm)
if command -v ensure_debian_packages >/dev/null; then
    ensure_debian_packages "${packages[@]}"
else
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

# The workspace build (a no-op after the test command's): building one package alone would resolve dependency
# features differently and rebuild much of the tree.
cargo build -q --workspace --all-targets
mkdir -p tests/out
cd tests/browser
# The committed lock file pins playwright-core; `npm ci` installs exactly it (and nothing when already there).
if [ ! -d node_modules/playwright-core ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi
node --test
