#!/usr/bin/env bash
# Screenshots of every shipped workflow as designers see it in the Studio (1600×1000, zoom to fit), written to
# docs/workflows/img/<definitionId>.png. It runs the browser test StudioShippedWorkflowsBrowserTests through the test
# harness (which installs and starts what it needs), so it also fails when a workflow does not fit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/docs/workflows/img"
cd "$root"
DRW_WORKFLOW_SCREENSHOTS="$root/docs/workflows/img" exec bash tests/run.sh --project tests/DrWorkflows.Server.Tests -- --filter-class '*StudioShippedWorkflowsBrowserTests'
