#!/usr/bin/env bash
# Web UI benchmark (issue 6): the review page of a 100-section document, measured in headless Chromium
# against a release `aiprism serve` on loopback with the fake model server:
#   - bytes transferred for HTML + JS + CSS on a cold load (gzip on; target < 200 KB),
#   - first contentful paint from the browser's performance entries (cold and warm; target < 500 ms),
#   - accept/reject round trips timed in the browser: the API call alone, and the full click → card
#     updated loop (target p95 < 50 ms).
# Prints the figures; it asserts nothing (targets are read by people, not by timed tests).
#
# Usage: bench/ui/run.sh [--debug]   (--debug uses the debug build instead of a release build)
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$AIPRISM_ROOT"

use_shared_target_dir
ensure_chromium
ensure_e2e_deps
profile=release
if [ "${1:-}" = "--debug" ]; then profile=debug; fi
log "building aiprism and the fake model server ($profile)"
if [ "$profile" = release ]; then
  cargo build --release --locked -p aiprism -p aiprism-fakes
else
  cargo build --locked -p aiprism -p aiprism-fakes
fi
export AIPRISM_BIN_DIR="$CARGO_TARGET_DIR/$profile"
exec node bench/ui/bench.mjs
