#!/usr/bin/env bash
# Where the Studio's time goes (issue 15): one command.
#   tests/bench/studio-profile.sh [OUT_DIR]     (default /tmp/drw-studio-profile)
# In headless Chromium against the real server and the installed bundle, records the first load of the definition
# list (empty cache, then cached) and the moves to the editor, the instance list, the viewer and back: every request,
# when each Studio element was defined and usable, and a Chromium trace per phase. Prints the timeline and a summary
# of the traces (script evaluation, compilation, WebAssembly, per phase). The test is StudioStartupProfile.
set -euo pipefail

OUT=${1:-/tmp/drw-studio-profile}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$OUT"

DRW_PROFILE_STUDIO=1 DRW_PROFILE_STUDIO_OUT=$OUT CI=true \
  bash "$REPO/tests/run.sh" --project tests/DrWorkflows.Server.Tests --artifacts-path "${DRW_BENCH_ARTIFACTS:-/tmp/drw-studio-bench}" \
  -- --filter-class '*StudioStartupProfile' > "$OUT/run.log" 2>&1 || { tail -n 60 "$OUT/run.log"; exit 1; }
cat "$OUT/summary.txt"
python3 "$REPO/tests/bench/studio-trace-summary.py" "$OUT"
