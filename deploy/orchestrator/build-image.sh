#!/usr/bin/env bash
# Builds the orchestrator image (docs/deployment.md):
#   1. publishes src/DrWorkflows.Server (Release, linux-x64, self-contained, ReadyToRun) into app/ beside this script;
#   2. adds the Elsa Studio bundle (src/DrWorkflows.Server/studio/install.sh) where the server looks for it;
#   3. runs `docker build` of the Dockerfile here, on the engine DOCKER_HOST names (the local one by default).
# Usage: deploy/orchestrator/build-image.sh [TAG]        (default tag: $DRW_IMAGE, else drworkflows/orchestrator:local)
# Environment:
#   DRW_BASE_IMAGE       the Debian 12 base (default debian:bookworm-slim; the tests use local/drw-runtime:1)
#   DRW_PUBLISH_ARTIFACTS  where dotnet keeps this build's obj/bin (default artifacts/publish under the repository),
#                        so that it never shares them with a build of the tests
#   DRW_BUILD_CONTEXT    build in a copy of this folder there instead of here (the tests use a temp folder)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TAG=${1:-${DRW_IMAGE:-drworkflows/orchestrator:local}}
BASE=${DRW_BASE_IMAGE:-debian:bookworm-slim}
ARTIFACTS=${DRW_PUBLISH_ARTIFACTS:-$REPO/artifacts/publish}
CONTEXT=${DRW_BUILD_CONTEXT:-$HERE}
APP=$CONTEXT/app
if [[ $CONTEXT != "$HERE" ]]; then
  mkdir -p "$APP"
  cp "$HERE/Dockerfile" "$HERE/install-tools.sh" "$HERE/entrypoint.sh" "$HERE/healthcheck.sh" "$CONTEXT/"
fi

say() { printf '==> %s\n' "$*"; }

say "publishing the server into $APP (Release, linux-x64, self-contained, ReadyToRun)"
find "$APP" -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
dotnet publish "$REPO/src/DrWorkflows.Server/DrWorkflows.Server.csproj" -c Release -r linux-x64 --self-contained \
  -p:PublishReadyToRun=true --artifacts-path "$ARTIFACTS" -o "$APP" -nologo -clp:ErrorsOnly

say "adding the Elsa Studio bundle"
studio=$(bash "$REPO/src/DrWorkflows.Server/studio/install.sh" | tail -n 1)
[[ -f $studio/_framework/blazor.webassembly.js ]] || { echo "build-image: no Elsa Studio bundle at '$studio'" >&2; exit 1; }
# Where the server looks by default (studio/node_modules/... under its content root), as in a source checkout.
mkdir -p "$APP/studio/node_modules/@elsa-workflows"
cp -a "$studio" "$APP/studio/node_modules/@elsa-workflows/elsa-studio-wasm"

say "building image $TAG from $BASE"
docker build --build-arg "BASE_IMAGE=$BASE" -t "$TAG" "$CONTEXT"
say "built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1 / 1e6}'))"
