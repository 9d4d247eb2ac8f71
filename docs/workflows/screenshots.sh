#!/usr/bin/env bash
# Pictures of every shipped workflow as designers see it in the Studio, written to docs/workflows/img/<definitionId>.png:
# the designer's canvas after zoom-to-fit, with the window grown until the whole workflow fits at a zoom of 0.7 or more
# (the Studio's own zoom-to-fit stops at 0.5 on a 1600×1000 screen). It runs the browser test
# StudioShippedWorkflowsBrowserTests through the test harness (which installs and starts what it needs), so it also
# fails when a workflow does not fit two canvas widths at 1600×1000. About 15 minutes on the 2-core machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/docs/workflows/img"
cd "$root"
DRW_WORKFLOW_SCREENSHOTS="$root/docs/workflows/img" exec bash tests/run.sh --project tests/DrWorkflows.Server.Tests -- --filter-class '*StudioShippedWorkflowsBrowserTests'
