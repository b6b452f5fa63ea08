#!/usr/bin/env bash
# Router benchmark (issue 3, item 9, first figure): our model router against the original tool's approach
# (primary model only, fixed exponential backoff, give up after a few attempts) in the same run, on 7
# simulated endpoints of 200 requests/min that throttle at random (seeded), 500 section reviews arriving
# in bursts. Time is simulated (tokio's paused clock, in-process fake providers), so the run takes well
# under a second once built. Also prints the prompt-cache figure (input tokens per 20-section document
# with and without the cacheable framework + outline prefix).
#
# Usage: bench/router/run.sh [--seed N]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec cargo run --release --quiet -p aiprism-llm --features bench --bin aiprism-router-bench -- "$@"
