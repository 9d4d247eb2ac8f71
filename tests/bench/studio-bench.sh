#!/usr/bin/env bash
# Studio navigation benchmark (issue 15): one command.
#   tests/bench/studio-bench.sh [ROUNDS]     (default 5)
# In headless Chromium at 1600x1000 against the real server and the installed Elsa Studio bundle, prints the medians
# of: the first load of the definition list to usable (empty cache, and bundle cached; target <= 4 s), and each move
# inside the one-page Studio (list -> editor -> instance list -> viewer -> list; target <= 1 s) against a full page
# load of the same page, with the ratio. The test is StudioNavigationBenchmark (tests/DrWorkflows.Server.Tests),
# skipped in the normal suite. Run it on a quiet machine: the targets are for an idle 2-core machine.
set -euo pipefail

ROUNDS=${1:-5}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(mktemp /tmp/drw-studio-bench-XXXXXX.txt)
trap 'rm -f "$OUT" "$OUT.log"' EXIT

DRW_BENCH_STUDIO=1 DRW_BENCH_STUDIO_ROUNDS=$ROUNDS DRW_BENCH_STUDIO_OUT=$OUT CI=true \
  bash "$REPO/tests/run.sh" --project tests/DrWorkflows.Server.Tests --artifacts-path "${DRW_BENCH_ARTIFACTS:-/tmp/drw-studio-bench}" \
  -- --filter-class '*StudioNavigationBenchmark' > "$OUT.log" 2>&1 || { tail -n 60 "$OUT.log"; exit 1; }
cat "$OUT"
